import ArgumentParser
import Foundation
import KeywardCore
import KeywardServer

/// `keyward user …`: cabinet accounts, for the first owner and for support.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Cabinet users.", subcommands: [Create.self, Reset.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make EMAIL a member of a merchant and print a one-time link (valid 72 hours) where a new account chooses its password."
        )
        @OptionGroup var storage: StorageOptions
        @Option(help: "Email address.") var email: String
        @Option(help: "Merchant id (mch_…).") var merchant: String
        @Option(help: "owner, administrator, developer, finance, viewer, or a custom role id (rol_…).") var role: String = "owner"
        @Option(help: "Base URL of the cabinet, as members reach it (default: the public_url setting).") var url: String?

        func run() async throws {
            let url = try url ?? storage.settings().publicBaseURL
            let (user, setup) = try await storage.withServices { services in
                let memberRole = try await services.team.role(merchantID: merchant, value: role)
                return try await OperatorAudit.run(services, merchantID: merchant, mode: nil, action: .memberInvite, detail: memberRole.name) {
                    try await services.team.addMember(email: email, merchantID: merchant, role: memberRole)
                }
            }
            print("\(user.id)  \(user.email)")
            if let setup {
                print("setup link (once, until \(ISO8601DateFormatter().string(from: setup.expiresAt))): \(url)/cabinet/setup?token=\(setup.token)")
            } else {
                print("existing account: signs in with its own password at \(url)/cabinet/login")
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print a one-time link (valid one hour) where the account of EMAIL chooses a new password; using it ends the account's sessions."
        )
        @OptionGroup var storage: StorageOptions
        @Option(help: "Email address of the account.") var email: String
        @Option(help: "Base URL of the cabinet, as members reach it (default: the public_url setting).") var url: String?

        func run() async throws {
            let url = try url ?? storage.settings().publicBaseURL
            let link = try await storage.withServices { services in
                // Whoever holds the link owns the account: the operator who made it is on record.
                try await OperatorAudit.run(services, merchantID: nil, mode: nil, action: .passwordResetLink, detail: email) {
                    try await services.accounts.requestPasswordReset(email: email)
                }
            }
            guard let link else { throw ValidationError("no account with a password has the email \(email)") }
            print("reset link (once, until \(ISO8601DateFormatter().string(from: link.expiresAt))): \(url)/cabinet/reset?token=\(link.token)")
        }
    }
}
