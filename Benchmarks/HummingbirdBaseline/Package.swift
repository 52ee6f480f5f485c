// swift-tools-version: 6.0
// The framework ceiling for Benchmarks/auth-test.sh: a bare Hummingbird server configured like Keyward
// (NIO singleton event loops, NIO as the concurrency executor, no per-request logging) answering a
// fixed JSON body. Keyward's overhead is measured against it. Not part of the product or the tests.
import PackageDescription

let package = Package(
    name: "hummingbird-baseline",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(name: "hummingbird-baseline", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
