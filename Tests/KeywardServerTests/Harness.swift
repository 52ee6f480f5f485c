import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardServer
import KeywardTestSupport
import Logging
import NIOCore
import Synchronization
import Testing

/// Builds Keyward for a test: a fresh data directory, and the database named by
/// `KEYWARD_TEST_DATABASE_URL` (PostgreSQL in CI's second pass) or a fresh SQLite file.
enum Harness {
    static var databaseURL: String? {
        ProcessInfo.processInfo.environment["KEYWARD_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var logger: Logger {
        var logger = Logger(label: "keyward-test")
        logger.logLevel = .warning
        return logger
    }

    static func settings(_ adjust: (inout Settings) -> Void = { _ in }) -> Settings {
        var settings = Settings()
        settings.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("keyward-test-\(UUID().uuidString)").path
        settings.databaseURL = databaseURL
        settings.httpsPort = 0
        settings.httpPort = 0
        settings.logLevel = "warning"
        settings.passwordHashCost = 4  // bcrypt's minimum: the tests check behaviour, not the work factor
        settings.webhookResolver = .fixed([:])  // no test looks a webhook host up on the network
        // Tests call faster than a merchant may by default; RateLimitTests set the limits they test.
        settings.rateLimitLive = 1_000_000
        settings.rateLimitTest = 1_000_000
        settings.refusedAuthPerAddressPerSecond = 1_000_000  // many tests are refused on purpose; RefusalThrottleTests set it
        adjust(&settings)
        // Instances of one database share one master key, as in production.
        if let url = settings.databaseURL, settings.masterKeyFile == nil {
            settings.masterKeyFile = FileManager.default.temporaryDirectory.appendingPathComponent("keyward-test-master-\(stableTag(url)).key").path
        }
        return settings
    }

    /// Settings on a database of the test's own: a fresh PostgreSQL database when tests run on
    /// PostgreSQL (SQLite files are private already). For tests of what works on the whole database,
    /// such as the certificate worker and the expiry scan, which would otherwise meet other tests' rows.
    static func isolatedSettings(_ adjust: (inout Settings) -> Void = { _ in }) throws -> Settings {
        guard let url = databaseURL, let slash = url.lastIndex(of: "/") else { return settings(adjust) }
        let name = "keyward_\(UUID().uuidString.prefix(8).lowercased())"
        try Shell.run("/usr/bin/psql", ["-q", url, "-c", "CREATE DATABASE \(name)"])
        return settings {
            $0.databaseURL = String(url[...slash]) + name
            adjust(&$0)
        }
    }

    /// Webhooks in tests go to loopback only: allow it (as `webhook_allowed_networks` would) and let
    /// `names` resolve to 127.0.0.1.
    static func loopbackWebhooks(_ settings: inout Settings, names: [String] = []) {
        settings.webhookAllowedNetworks = ["127.0.0.0/8", "::1/128"].compactMap { try? IPNetwork(parsing: $0) }
        settings.webhookResolver = .fixed(Dictionary(uniqueKeysWithValues: names.map { ($0, ["127.0.0.1"]) }))
    }

    /// Services on `settings`, migrated once per process first (parallel tests share one PostgreSQL).
    static func services(_ settings: Settings, clock: KeywardClock = .system) async throws -> KeywardServices {
        try await MigrationGate.shared.migrateOnce(settings)
        let services = try await KeywardServices.open(settings: settings, logger: logger, clock: clock)
        await StoreRegistry.current?.add(services.store)
        return services
    }

    /// A merchant with an unrestricted key in each mode.
    struct Tenant {
        let merchant: Merchant
        let testKey: CreatedSecretKey
        let liveKey: CreatedSecretKey
    }

    static func tenant(_ services: KeywardServices) async throws -> Tenant {
        let merchant = try await services.merchants.create(name: "Shop \(UUID().uuidString.prefix(6))")
        return Tenant(
            merchant: merchant,
            testKey: try await services.secretKeys.create(merchantID: merchant.id, mode: .test, options: .init(name: "test"), by: .platformOperator),
            liveKey: try await services.secretKeys.create(merchantID: merchant.id, mode: .live, options: .init(name: "live"), by: .platformOperator)
        )
    }

    /// A fresh application with one merchant holding an unrestricted key in each mode.
    static func appWithTenant(_ settings: Settings = Harness.settings()) async throws -> (some ApplicationProtocol, Tenant) {
        let services = try await services(settings)
        let tenant = try await tenant(services)
        await services.store.shutdown()
        return (try await app(settings), tenant)
    }

    /// The full application (the one `keyward serve` runs), for router tests.
    static func app(_ settings: Settings, clock: KeywardClock = .system) async throws -> some ApplicationProtocol {
        try await MigrationGate.shared.migrateOnce(settings)
        return try await buildApplication(settings: settings, logger: logger, clock: clock)
    }
}

/// A name derived from the database URL that is the same in every test process (unlike `hashValue`).
func stableTag(_ text: String) -> String {
    String(text.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }, radix: 36)
}

/// Runs the migrations of a shared database once per process, before any test opens it (parallel
/// tests would otherwise race to create the same tables). Private SQLite files need no gate.
actor MigrationGate {
    static let shared = MigrationGate()
    private var migrations: [String: Task<Void, any Error>] = [:]

    func migrateOnce(_ settings: Settings) async throws {
        guard let url = settings.databaseURL else { return }
        if migrations[url] == nil {
            migrations[url] = Task {
                let services = try await KeywardServices.open(settings: settings, logger: Harness.logger)
                await services.store.shutdown()
            }
        }
        try await migrations[url]?.value
    }
}

/// Stores opened by the current test, closed when it ends, whether it passed or threw: a store left
/// open trips a debug assertion in the connection pool that would hide the test's real failure.
actor StoreRegistry {
    @TaskLocal static var current: StoreRegistry?
    private var stores: [KeywardStore] = []

    func add(_ store: KeywardStore) { stores.append(store) }

    func shutdownAll() async {
        for store in stores { await store.shutdown() }
        stores = []
    }
}

/// Applied to every suite that opens stores: runs each test inside a `StoreRegistry`.
struct ClosesStores: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil || !test.isSuite else { return try await function() }
        let registry = StoreRegistry()
        try await StoreRegistry.$current.withValue(registry) {
            do {
                try await function()
            } catch {
                await registry.shutdownAll()
                throw error
            }
            await registry.shutdownAll()
        }
    }
}

extension Trait where Self == ClosesStores {
    static var closesStores: ClosesStores { ClosesStores() }
}

extension TestClientProtocol {
    /// A request with a key in the Authorization header and an optional JSON body.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        key: String?,
        json: String? = nil,
        headers extra: HTTPFields = [:],
        _ check: (TestResponse) throws -> Void = { _ in }
    ) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { $0 }
        try check(response)
        return response
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    var text: String { String(buffer: body) }

    /// Asserts a problem+json answer with `status` and `code`, that never echoes `secret`.
    func expectProblem(
        _ status: HTTPResponse.Status,
        _ code: String,
        notContaining secret: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(self.status == status, "status for \(code)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        #expect(json["code"] as? String == code, "body: \(text)", sourceLocation: sourceLocation)
        #expect(json["status"] as? Int == status.code, sourceLocation: sourceLocation)
        #expect((json["detail"] as? String).map { !$0.isEmpty } == true, sourceLocation: sourceLocation)
        if let secret, secret.count > 8 {
            #expect(!text.contains(secret), "problem body echoes the secret", sourceLocation: sourceLocation)
        }
    }
}

/// A clock tests can move.
final class TestClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    var clock: KeywardClock { KeywardClock { [self] in Date().addingTimeInterval(offset.withLock { $0 }) } }
    func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}
