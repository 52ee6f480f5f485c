import ArgumentParser
import Foundation
import KeywardServer
import Logging
import NIOCore
import NIOPosix

@main
enum Entrypoint {
    static func main() async {
        // Run Swift concurrency on NIO's event loops: request handlers then stay on the thread that read
        // the request instead of hopping to the global pool and back (measured: see Benchmarks/).
        // Keyward never blocks an executor thread: SQLite runs on NIO's thread pool, files are read at start.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await Keyward.main()
    }
}

struct Keyward: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyward",
        abstract: "Credential authority, authenticating gateway and certificate manager for payment platforms.",
        subcommands: [
            Serve.self, Migrate.self, MerchantCommand.self, KeysCommand.self, OrderHash.self, Keygen.self, Sign.self, Verify.self, JWKCommand.self,
            JWECommand.self, CertCommand.self, ChannelCommand.self, AuditCommand.self, UserCommand.self, MasterKeyCommand.self,
        ]
    )
}

/// Options every command that opens the database shares. Each also reads `KEYWARD_*` and the config file.
struct StorageOptions: ParsableArguments {
    @Option(help: "JSON config file, e.g. docs/keyward.example.json (env KEYWARD_CONFIG_FILE).") var config: String?
    @Option(name: .customLong("data-dir"), help: "Data directory of the embedded default (env KEYWARD_DATA_DIR; default ./.keyward).") var dataDir:
        String?
    @Option(name: .customLong("database-url"), help: "postgres://user:pass@host:port/db (env KEYWARD_DATABASE_URL; default SQLite in the data dir).")
    var databaseURL: String?
    @Option(name: .customLong("master-key-file"), help: "Master key file (env KEYWARD_MASTER_KEY_FILE; default <data dir>/master.key).")
    var masterKeyFile: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["config"] = config
        flags["data_dir"] = dataDir
        flags["database_url"] = databaseURL
        flags["master_key_file"] = masterKeyFile
        return flags
    }

    func settings(extra: [String: String] = [:]) throws -> Settings {
        try Settings.resolve(flags: flags.merging(extra) { _, new in new }, environment: ProcessInfo.processInfo.environment)
    }

    /// Opens the services for a one-shot command, runs `body`, and closes the database.
    func withServices<T>(_ body: (KeywardServices) async throws -> T) async throws -> T {
        var logger = Logger(label: "keyward")
        logger.logLevel = .warning
        let services = try await KeywardServices.open(settings: try settings(), logger: logger)
        do {
            let result = try await body(services)
            await services.store.shutdown()
            return result
        } catch {
            await services.store.shutdown()
            throw error
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: HTTPS API (default 8443) and HTTP listener (default 8080).",
        discussion: Settings.helpText
    )

    @OptionGroup var storage: StorageOptions
    /// Every other setting, as `--name value`: checked against `Settings.table` by `Settings.flags(fromArguments:)`.
    @Argument(parsing: .allUnrecognized, help: .hidden) var settingArguments: [String] = []

    func run() async throws {
        let extra: [String: String]
        do { extra = try Settings.flags(fromArguments: settingArguments) } catch { throw ValidationError(String(describing: error)) }
        let settings = try storage.settings(extra: extra)
        let format = settings.logFormat
        LoggingSystem.bootstrap { label in KeywardLogHandler(label: label, format: format) }
        var logger = Logger(label: "keyward")
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        let app = try await buildApplication(settings: settings, logger: logger)
        // Graceful on SIGTERM and SIGINT, with a line as the shutdown begins and one when it is over.
        try await ServerRun(app, logger: logger).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (serve also does this at start).")
    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let applied = try await storage.withServices { try await $0.store.appliedMigrations() }
        print("migrations applied: \(applied.joined(separator: ", "))")
    }
}

struct OrderHash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order-hash",
        abstract: "Compute a Kashier order hash (HMAC-SHA256 hex over /?payment=MID.order.amount.currency). Needs no database."
    )
    @Option(help: "The payment API key (HMAC key).") var key: String
    @Option(help: "Merchant id (MID).") var mid: String
    @Option(help: "Order id, exactly as sent.") var order: String
    @Option(help: "Amount, exactly as sent (20 and 20.00 hash differently).") var amount: String
    @Option(help: "Currency, e.g. EGP.") var currency: String
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        let result = OrderHashCLI.compute(key: key, mid: mid, order: order, amount: amount, currency: currency)
        if json {
            printJSON(["hash": result.hash, "path": result.path])
        } else {
            print(result.hash)
        }
    }
}

struct MasterKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "master-key", abstract: "Master key operations.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every secret under a new master key while instances keep serving; the old key is kept as <file>.previous."
        )
        @OptionGroup var storage: StorageOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let report = try await storage.withServices { services in
                let report = try await rotateMasterKey(services)
                await OperatorAudit.record(services, merchantID: nil, action: .masterKeyRotate, target: report.newKeyID)
                return report
            }
            if json {
                printJSON(report)
            } else {
                print(
                    "master key rotated: \(report.previousKeyID) -> \(report.newKeyID); re-sealed \(report.resealedSecrets) secrets and \(report.resealedFiles) files"
                )
                print("running instances adopted the new key through the database; give every host the new key file before its next restart")
            }
        }
    }
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
    encoder.dateEncodingStrategy = .iso8601
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
