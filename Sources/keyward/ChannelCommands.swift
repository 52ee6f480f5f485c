import ArgumentParser
import Foundation
import KeywardCore
import KeywardCrypto
import KeywardServer

extension CertificateType: ExpressibleByArgument {}
extension SSLMode: ExpressibleByArgument {}

extension CertCommand {
    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a certificate with its key and chain (files in any order); refused with every problem listed when it would not serve."
        )
        @OptionGroup var storage: StorageOptions
        @Option(help: "Merchant id (mch_…).") var merchant: String
        @Option(help: "test or live.") var mode: Mode = .live
        @Option(help: "ssl, apple_pay_merchant_identity, apple_pay_payment_processing or apple_pay_identity_proof.") var type: CertificateType = .ssl
        @Option(help: "Display name (default: the first SAN or the subject).") var name: String?
        @Option(name: .customLong("passphrase-file"), help: "Passphrase of an encrypted private key.") var passphraseFile: String?
        @Flag(help: "JSON output.") var json = false
        @Argument(help: "Certificate, private key and chain files.") var files: [String]

        func run() async throws {
            let contents = try readCertificateFiles(files)
            let passphrase = try SignTools.passphrase(passphraseFile)
            do {
                let (info, findings) = try await storage.withServices { services in
                    try await OperatorAudit.run(services, merchantID: merchant, mode: mode, action: .certificateUpload) {
                        try await services.certificates.upload(
                            merchantID: merchant,
                            mode: mode,
                            type: type,
                            name: name,
                            files: contents,
                            passphrase: passphrase
                        )
                    }
                }
                if json {
                    printJSON(CertificateLine(info, findings: findings))
                } else {
                    print(CertificateLine(info).text)
                    for finding in findings { print("  \(finding.severity.rawValue) (\(finding.code)): \(finding.message)") }
                }
            } catch let refusal as CertificateUploadRefusal {
                for finding in refusal.findings {
                    FileHandle.standardError.write(Data("\(finding.severity.rawValue) (\(finding.code)): \(finding.message)\n".utf8))
                }
                throw ExitCode(1)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List stored certificates with status and days left, soonest expiry first.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Only this merchant's (default: every merchant's).") var merchant: String?
        @Option(help: "Only this mode's.") var mode: Mode?
        @Option(help: "Only those expiring within DAYS days (expired included).") var expiring: Int?
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let list = try await storage.withServices {
                try await $0.certificates.list(merchantID: merchant, mode: mode, expiringWithin: expiring, limit: 100_000)
            }
            if json { printJSON(list.map { CertificateLine($0) }) } else { for info in list { print(CertificateLine(info).text) } }
        }
    }
}

extension CertCommand {
    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the expiry scan now: note every certificate whose state (valid, expiring, critical, expired) moved and queue its webhook.",
            discussion:
                "The running server scans on its own every certificate_check_seconds and delivers the webhooks; this is for operators and benchmarks."
        )
        @OptionGroup var storage: StorageOptions
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let (report, seconds) = try await storage.withServices { services in
                let scanner = ExpiryScanner(store: services.store, webhooks: services.webhooks, clock: services.clock)
                let start = ContinuousClock.now
                let report = try await scanner.scan()
                let elapsed = ContinuousClock.now - start
                return (report, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            if json {
                printJSON(["changed": Double(report.changed), "notified": Double(report.notified), "seconds": seconds])
            } else {
                print("\(report.changed) certificate(s) changed state, \(report.notified) webhook(s) queued, in \(String(format: "%.3f", seconds)) s")
            }
        }
    }
}

/// One certificate as the CLI prints it.
struct CertificateLine: Encodable {
    let id: String, merchant: String, mode: String, type: String, name: String, status: String, days_left: Int, not_after: Date
    let names: [String], issuer: String, serial: String, source: String
    let findings: [CertificateFinding]?

    init(_ info: CertificateInfo, findings: [CertificateFinding]? = nil, now: Date = Date()) {
        id = info.id
        merchant = info.merchantID
        mode = info.mode.rawValue
        type = info.type.rawValue
        name = info.name
        status = info.status(at: now).rawValue
        days_left = info.daysLeft(at: now)
        not_after = info.notAfter
        names = info.names
        issuer = info.issuer
        serial = info.serial
        source = info.source
        self.findings = findings
    }

    var text: String {
        "\(id)  \(status.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(days_left).leftPadded(5)) days  \(type)  \(names.joined(separator: ","))  (\(issuer))"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// `keyward channel …`: sales channels and their certificates.
struct ChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel",
        abstract: "Sales channels: domains and where their certificate comes from.",
        subcommands: [Create.self, Status.self, List.self, Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a channel's domains now (DNS TXT, then HTTP), or with --force vouch for them as the platform operator.",
            discussion: """
                Without --force this runs the same check as the API's POST /v1/manage/channels/ID/verify, from this \
                machine, with the verification_dns_resolver and verification_allowed_networks settings. --force marks \
                the domains verified without any check (for domains the operator knows, e.g. the platform's own shops); \
                they are then not re-checked. Reserved names and domains another merchant verified are refused either way.
                """
        )
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Channel id (chn_…).") var id: String
        @Flag(help: "Vouch for the domains without a check (operators only; recorded in the audit log).") var force = false
        @Option(name: .customLong("domain"), help: "Only this domain of the channel (repeat for more; default: all).") var domains: [String] = []
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let records = try await storage.withServices { services in
                let actor = OperatorAudit.actor
                if force {
                    return try await services.domainVerifications.force(channelID: id, domains: domains.isEmpty ? nil : domains, actor: actor)
                }
                return try await services.domainVerifications.checkChannel(merchantID: nil, mode: nil, channelID: id, actor: actor)
            }
            if json { printJSON(records.map(VerificationLine.init)) } else { for record in records { print(VerificationLine(record).text) } }
            if records.contains(where: { !$0.isVerified }) { throw ExitCode(1) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a sales channel; a managed one is ordered by ACME by the running server.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Merchant id (mch_…).") var merchant: String
        @Option(help: "test or live.") var mode: Mode = .live
        @Option(help: "Channel name.") var name: String
        @Option(name: .customLong("domain"), help: "A domain of the channel (repeat for more).") var domains: [String]
        @Option(help: "managed (ACME) or uploaded.") var ssl: SSLMode
        @Option(help: "For --ssl uploaded: the stored certificate (crt_…).") var certificate: String?
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let channel = try await storage.withServices { services in
                try await OperatorAudit.run(services, merchantID: merchant, mode: mode, action: .channelCreate) {
                    try await services.channels.create(
                        merchantID: merchant,
                        mode: mode,
                        name: name,
                        domains: domains,
                        sslMode: ssl,
                        certificateID: certificate
                    )
                }
            }
            if json { printJSON(ChannelLine(channel, events: nil)) } else { print(ChannelLine(channel, events: nil).text) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A channel's status, certificate and recent events.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Channel id (chn_…).") var id: String
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let (channel, events, verifications) = try await storage.withServices { services in
                let channel = try await services.channels.get(merchantID: nil, mode: nil, id: id)
                return (
                    channel, try await services.channels.events(channelID: id, limit: 20),
                    try await services.domainVerifications.records(merchantID: channel.merchantID, domains: channel.domains)
                )
            }
            let line = ChannelLine(channel, events: events)
            if json {
                printJSON(line)
            } else {
                print(line.text)
                for record in verifications { print("  " + VerificationLine(record).text.replacingOccurrences(of: "\n", with: "\n  ")) }
                for event in events { print("  \(ISO8601DateFormatter().string(from: event.at))  \(event.kind): \(event.message)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a merchant's channels.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Merchant id (mch_…).") var merchant: String
        @Option(help: "test or live.") var mode: Mode = .live
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            let channels = try await storage.withServices { try await $0.channels.list(merchantID: merchant, mode: mode) }
            if json {
                printJSON(channels.map { ChannelLine($0, events: nil) })
            } else {
                for channel in channels { print(ChannelLine(channel, events: nil).text) }
            }
        }
    }
}

struct ChannelLine: Encodable {
    let id: String, merchant: String, mode: String, name: String, domains: [String], ssl_mode: String
    let certificate_id: String?, status: String, status_detail: String, failures: Int, next_attempt_at: Date?
    let events: [ChannelEvent]?

    init(_ channel: SalesChannelInfo, events: [ChannelEvent]?) {
        id = channel.id
        merchant = channel.merchantID
        mode = channel.mode.rawValue
        name = channel.name
        domains = channel.domains
        ssl_mode = channel.sslMode.rawValue
        certificate_id = channel.certificateID
        status = channel.status
        status_detail = channel.statusDetail
        failures = channel.failures
        next_attempt_at = channel.sslMode == .managed ? channel.nextAttempt : nil
        self.events = events
    }

    var text: String {
        "\(id)  \(name)  \(ssl_mode)  \(status)  \(domains.joined(separator: ","))  certificate: \(certificate_id ?? "none")\n  \(status_detail)"
    }
}

/// One domain's verification as the CLI prints it.
struct VerificationLine: Encodable {
    let domain: String, status: String, method: String?, last_error: String?, txt_name: String, txt_value: String, http_url: String?

    init(_ record: DomainVerification) {
        domain = record.domain
        status = record.status.rawValue
        method = record.method?.rawValue
        last_error = record.lastError
        txt_name = record.txtName
        txt_value = record.token
        http_url = record.httpURL
    }

    var text: String {
        var line = "\(domain)  \(status)\(method.map { " (\($0))" } ?? "")\n  TXT \(txt_name) = \(txt_value)"
        if let http_url { line += "\n  or HTTP \(http_url) answering \(txt_value)" }
        if let last_error { line += "\n  last check: \(last_error)" }
        return line
    }
}
