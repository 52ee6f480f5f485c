import ArgumentParser
import Foundation
import KeywardCore
import KeywardCrypto
import KeywardServer

struct MerchantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merchant",
        abstract: "Create and list merchants.",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a merchant.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "Public merchant id (default: generated MID-nnnnnn-nnn).") var mid: String?
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let merchant = try await storage.withServices { services in
                let merchant = try await services.merchants.create(name: name, mid: mid)
                await OperatorAudit.record(services, merchantID: merchant.id, action: .merchantCreate, target: merchant.id)
                return merchant
            }
            if json { printJSON(MerchantOutput(merchant)) } else { print("\(merchant.id)  \(merchant.mid)  \(merchant.name)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List merchants.")
        @OptionGroup var storage: StorageOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let merchants = try await storage.withServices { try await $0.merchants.list() }
            if json {
                printJSON(merchants.map(MerchantOutput.init))
            } else {
                for merchant in merchants { print("\(merchant.id)  \(merchant.mid)  \(merchant.name)") }
            }
        }
    }
}

struct MerchantOutput: Encodable {
    let id: String, name: String, mid: String, created_at: Date
    init(_ merchant: Merchant) {
        id = merchant.id
        name = merchant.name
        mid = merchant.mid
        created_at = merchant.createdAt
    }
}

enum KeyKind: String, ExpressibleByArgument, CaseIterable {
    case secret, payment

    /// The audit actions of this kind's changes, the same names the API and the cabinet record.
    var rollAction: AuditAction { self == .secret ? .secretKeyRoll : .paymentKeyRoll }
    var revokeAction: AuditAction { self == .secret ? .secretKeyRevoke : .paymentKeyRevoke }
}

extension Mode: ExpressibleByArgument {}

struct KeySelection: ParsableArguments {
    @Option(help: "Merchant id (mch_…).") var merchant: String
    @Option(help: "test or live.") var mode: Mode
    @Option(help: "secret (API key) or payment (HMAC payment key).") var kind: KeyKind = .secret
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list, roll and revoke keys.",
        subcommands: [Create.self, List.self, Roll.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var selection: KeySelection
        @Option(help: "Name (secret keys) or label (payment keys).") var name: String?
        @Option(help: "Expiry, RFC 3339 (secret keys).") var expires: String?
        @Option(help: "Comma-separated scopes of a restricted key (secret keys; default unrestricted).") var permissions: String?
        @Option(name: .customLong("allow-ip"), help: "CIDR the key may be used from; repeatable (secret keys).") var allowIP: [String] = []
        @Option(help: "Create this many secret keys at once (provisioning, benchmarks).") var count: Int = 1
        @Flag(help: "JSON output (one object per line with --count).") var json = false

        func run() async throws {
            var expiresAt: Date?
            if let expires {
                guard let date = ISO8601DateFormatter().date(from: expires) else {
                    throw ValidationError("--expires must be RFC 3339, e.g. 2027-01-31T23:59:59Z")
                }
                expiresAt = date
            }
            try await storage.withServices { services in
                switch selection.kind {
                case .payment:
                    let created = try await OperatorAudit.run(
                        services,
                        merchantID: selection.merchant,
                        mode: selection.mode,
                        action: .paymentKeyCreate
                    ) {
                        try await services.paymentKeys.create(
                            merchantID: selection.merchant,
                            mode: selection.mode,
                            label: name,
                            by: .platformOperator
                        )
                    }
                    if json {
                        printJSON(CreatedOutput(id: created.info.id, secret: created.secret))
                    } else {
                        print("\(created.info.id)  \(created.secret)\n(store it now: it is shown only here)")
                    }
                case .secret where count > 1:
                    let keys = try await OperatorAudit.run(
                        services,
                        merchantID: selection.merchant,
                        mode: selection.mode,
                        action: .secretKeyCreate,
                        detail: "\(count) keys"
                    ) {
                        try await services.secretKeys.createMany(
                            merchantID: selection.merchant,
                            mode: selection.mode,
                            name: name ?? "Secret key",
                            count: count
                        )
                    }
                    for key in keys { print(json ? "{\"id\":\"\(key.info.id)\",\"secret\":\"\(key.secret)\"}" : "\(key.info.id)  \(key.secret)") }
                case .secret:
                    let options = SecretKeyOptions(
                        name: name,
                        expiresAt: expiresAt,
                        permissions: permissions.map { $0.split(separator: ",").map(String.init) },
                        allowedIPs: allowIP.isEmpty ? nil : allowIP
                    )
                    let created = try await OperatorAudit.run(
                        services,
                        merchantID: selection.merchant,
                        mode: selection.mode,
                        action: .secretKeyCreate
                    ) {
                        try await services.secretKeys.create(
                            merchantID: selection.merchant,
                            mode: selection.mode,
                            options: options,
                            by: .platformOperator
                        )
                    }
                    if json {
                        printJSON(CreatedOutput(id: created.info.id, secret: created.secret))
                    } else {
                        print("\(created.info.id)  \(created.secret)\n(store it now: Keyward keeps only its hash)")
                    }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var selection: KeySelection
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            try await storage.withServices { services in
                let now = Date()
                switch selection.kind {
                case .secret:
                    let keys = try await services.secretKeys.list(merchantID: selection.merchant, mode: selection.mode, limit: 1000)
                    if json {
                        printJSON(keys.map { KeyOutput($0, now: now) })
                    } else {
                        for key in keys { print("\(key.id)  \(key.prefix)…\(key.last4)  \(key.status(at: now).rawValue)  \(key.name)") }
                    }
                case .payment:
                    let keys = try await services.paymentKeys.list(merchantID: selection.merchant, mode: selection.mode)
                    if json {
                        printJSON(keys.map { KeyOutput($0, now: now) })
                    } else {
                        for key in keys { print("\(key.id)  …\(key.last4)  \(key.status(at: now).rawValue)  \(key.label)") }
                    }
                }
            }
        }
    }

    struct Roll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a key; the old one keeps working for --overlap seconds (0-604800).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var selection: KeySelection
        @Argument(help: "Key id.") var id: String
        @Option(help: "Seconds the old key stays valid.") var overlap: Int = 0
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let created: CreatedOutput = try await storage.withServices { services in
                try await OperatorAudit.run(
                    services,
                    merchantID: selection.merchant,
                    mode: selection.mode,
                    action: selection.kind.rollAction
                ) {
                    switch selection.kind {
                    case .secret:
                        let key = try await services.secretKeys.roll(
                            merchantID: selection.merchant,
                            mode: selection.mode,
                            id: id,
                            overlapSeconds: overlap,
                            by: .platformOperator
                        )
                        return CreatedOutput(id: key.info.id, secret: key.secret)
                    case .payment:
                        let key = try await services.paymentKeys.roll(
                            merchantID: selection.merchant,
                            mode: selection.mode,
                            id: id,
                            overlapSeconds: overlap,
                            by: .platformOperator
                        )
                        return CreatedOutput(id: key.info.id, secret: key.secret)
                    }
                }
            }
            if json { printJSON(created) } else { print("\(created.id)  \(created.secret)") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key now, on every instance.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var selection: KeySelection
        @Argument(help: "Key id.") var id: String

        func run() async throws {
            try await storage.withServices { services in
                try await OperatorAudit.run(
                    services,
                    merchantID: selection.merchant,
                    mode: selection.mode,
                    action: selection.kind.revokeAction,
                    target: id
                ) {
                    switch selection.kind {
                    case .secret: _ = try await services.secretKeys.revoke(merchantID: selection.merchant, mode: selection.mode, id: id)
                    case .payment: _ = try await services.paymentKeys.revoke(merchantID: selection.merchant, mode: selection.mode, id: id)
                    }
                }
            }
            print("revoked \(id)")
        }
    }
}

struct CreatedOutput: Encodable {
    let id: String
    let secret: String
}

struct KeyOutput: Encodable {
    let id: String, name: String, last4: String, status: String, created_at: Date, expires_at: Date?, last_used_at: Date?
    init(_ key: SecretKeyInfo, now: Date) {
        id = key.id
        name = key.name
        last4 = key.last4
        status = key.status(at: now).rawValue
        created_at = key.createdAt
        expires_at = key.expiresAt
        last_used_at = key.lastUsedAt
    }
    init(_ key: PaymentKeyInfo, now: Date) {
        id = key.id
        name = key.label
        last4 = key.last4
        status = key.status(at: now).rawValue
        created_at = key.createdAt
        expires_at = key.expiresAt
        last_used_at = nil
    }
}
