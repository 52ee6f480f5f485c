// swift-tools-version: 6.0
// libFuzzer targets for Keyward's parsers of untrusted input. A package of its own so that the root
// package's `swift build` / `swift test` never see it; build and run with `Fuzz/run.sh`.
import PackageDescription

let targets = [
    "FuzzCertificates", "FuzzEncryptedPKCS8", "FuzzPublicKeyImport", "FuzzJWK", "FuzzJWE",
    "FuzzHTTPSignatures", "FuzzMyPOSForm", "FuzzOrderedJSON", "FuzzMultipart",
]

let package = Package(
    name: "KeywardFuzz",
    platforms: [.macOS(.v15)],  // as ../../Package.swift (swift-configuration)
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: "keyward", path: "../.."),
        // Already in the root package's graph; named here because the PKCS#8 target re-encodes DER.
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "KeywardCrypto", package: "keyward"),
                .product(name: "KeywardDialects", package: "keyward"),
            ]
        )
    ]
        + targets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "KeywardCrypto", package: "keyward"),
                    .product(name: "KeywardDialects", package: "keyward"),
                    .product(name: "SwiftASN1", package: "swift-asn1"),
                ],
                // No top-level code: the entry points are `LLVMFuzzerTestOneInput` and `<Target>_main`.
                swiftSettings: [.unsafeFlags(["-parse-as-library"])],
                // gold crashes (internal error in format_file_lineno) linking the sanitizer runtimes; lld works.
                linkerSettings: [.unsafeFlags(["-use-ld=lld"])]
            )
        }
)
