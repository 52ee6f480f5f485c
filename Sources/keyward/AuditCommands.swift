import ArgumentParser
import Foundation
import KeywardCore
import KeywardServer

/// `keyward audit …`: the hash-chained audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit log: verify its chain, export it.",
        subcommands: [Verify.self, Export.self, Checkpoints.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole chain: exit 0 when every entry is intact, 1 naming the first edited or deleted entry."
        )
        @OptionGroup var storage: StorageOptions
        @Option(
            help:
                "A file written by `keyward audit checkpoints` earlier: its checkpoints must still hold (catches deleted newest entries and checkpoints)."
        )
        var checkpoints: String?

        func run() async throws {
            var anchors: [AuditCheckpoint] = []
            if let checkpoints {
                guard let data = FileManager.default.contents(atPath: checkpoints),
                    let decoded = try? JSONDecoder().decode([AuditCheckpoint].self, from: data)
                else {
                    FileHandle.standardError.write(
                        Data("\(checkpoints) is not a checkpoint export (a JSON array from `keyward audit checkpoints`)\n".utf8)
                    )
                    throw ExitCode(2)
                }
                anchors = decoded
            }
            let given = anchors
            let result = try await storage.withServices { try await $0.audit.verify(anchors: given) }
            if let problem = result.firstProblem {
                FileHandle.standardError.write(Data("audit log broken at entry \(problem.seq): \(problem.reason)\n".utf8))
                throw ExitCode(1)
            }
            print("audit log intact: \(result.entries) entries")
        }
    }

    struct Checkpoints: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the keyed checkpoints as JSON; keep the output off this database and pass it to `audit verify --checkpoints`."
        )
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let checkpoints = try await storage.withServices { try await $0.audit.checkpoints() }
            printJSON(checkpoints)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print entries as JSON lines, oldest first.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Only this merchant's entries.") var merchant: String?

        func run() async throws {
            let entries = try await storage.withServices { services in
                var all: [AuditEntry] = []
                var before: Int64?
                while true {
                    let page = try await services.audit.list(merchantID: merchant, before: before, limit: 1000)
                    all += page
                    guard page.count == 1000, let last = page.last else { break }
                    before = last.seq
                }
                return all
            }
            for entry in entries.reversed() { print(AuditExport.line(entry)) }
        }
    }
}
