import Foundation
import SQLKit

/// What an invitation grants, shown before it is accepted.
public struct InvitationInfo: Sendable, Equatable {
    /// The invited address: only the account of this address can accept.
    public let email: String
    public let merchantID: String
    public let merchantName: String
    public let roleName: String
    public let expiresAt: Date
    public let account: AccountState

    /// Whether the invited address has an account, and in which state.
    public enum AccountState: Sendable, Equatable {
        /// No account yet: accepting creates it with a password chosen here.
        case none
        /// An account that signs in: accepting needs signing in to it first.
        case active(userID: String)
        /// An account waiting for its own setup link: only that link sets its password.
        case pending
    }
}

/// Invitations: a one-time link bound to the invited address. Accepting never sets or changes the
/// password of an account that exists: an existing account joins only when signed in as itself, and a
/// pending one is set up only by its own setup link.
extension TeamService {
    /// An invitation link for `email` to join `merchantID` as `role`.
    public func invite(email: String, merchantID: String, role: MemberRole) async throws -> OneTimeToken {
        let email = try AccountService.normalize(email: email)
        if let user = try await accounts.row(email: email), try await membership(userID: user.id, merchantID: merchantID) != nil {
            throw KeywardError(.conflict, .alreadyMember, "\(email) is already a member.")
        }
        let accounts = self.accounts
        return try await store.auditedTransaction { sql in
            try await accounts.issueToken(
                sql,
                purpose: "invite",
                email: email,
                userID: nil,
                merchantID: merchantID,
                role: role.storedValue,
                lifetime: Self.invitationLifetime
            )
        }
    }

    /// What the invitation behind `token` grants, without using it; `invalid_link` when it cannot be used.
    public func invitation(token: String) async throws -> InvitationInfo {
        let refusal = KeywardError(
            .invalidInput,
            .invalidLink,
            "This invitation is not valid: it was used already, has expired, or was mistyped. Ask for a new one."
        )
        guard token.utf8.count <= 100,
            let row = try await store.sql.select().column("*").from("account_tokens").where("id", .equal, TokenHash.of(token))
                .first(decoding: AccountService.TokenRow.self),
            row.purpose == "invite", row.used_ms == nil, row.expires_ms > clock.now().millis,
            let merchantID = row.merchant_id, let roleValue = row.role
        else { throw refusal }
        let merchant = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let role = try await role(merchantID: merchantID, value: roleValue)
        let account: InvitationInfo.AccountState
        if let user = try await accounts.row(email: row.email) {
            account = user.password_hash == nil ? .pending : .active(userID: user.id)
        } else {
            account = .none
        }
        return InvitationInfo(
            email: row.email,
            merchantID: merchantID,
            merchantName: merchant.name,
            roleName: role.name,
            expiresAt: Date(millis: row.expires_ms),
            account: account
        )
    }

    /// Accepts an invitation. A new address sets `password` here; an existing account must be the
    /// signed-in one (`signedInUserID`) and keeps its password; a pending account is refused.
    public func acceptInvitation(token: String, password: String?, signedInUserID: String?) async throws -> (user: UserInfo, merchantID: String) {
        var chosen: String?
        if let password {
            try PasswordHasher.check(password)
            chosen = try await accounts.hasher.hash(password)
        }
        let hash = chosen
        return try await store.transaction { sql in
            let redeemed = try await accounts.redeem(token, purpose: "invite", on: sql)
            guard let merchantID = redeemed.merchant_id, let role = redeemed.role else {
                throw KeywardError.invalid(.invalidLink, "This link is not an invitation.")
            }
            let existing = try await sql.select().column("*").from("users").where("email", .equal, redeemed.email).first(decoding: UserRow.self)
            let user: UserRow
            if let existing {
                guard existing.password_hash != nil else {
                    throw KeywardError(
                        .conflict,
                        .accountPending,
                        "The account of \(redeemed.email) is waiting to be set up with its own setup link; once it is, sign in and open this invitation again."
                    )
                }
                guard signedInUserID == existing.id else {
                    throw KeywardError(
                        .unauthenticated,
                        .signInRequired,
                        "\(redeemed.email) already has an account: sign in to it, then open this invitation again."
                    )
                }
                if try await sql.select().column("id").from("memberships").where("user_id", .equal, existing.id).where(
                    "merchant_id",
                    .equal,
                    merchantID
                ).first() != nil {
                    throw KeywardError(.conflict, .alreadyMember, "\(redeemed.email) is already a member.")
                }
                user = existing
            } else {
                guard let hash else { throw KeywardError.invalid(.weakPassword, "Choose a password for the new account.", field: "password") }
                user = try await accounts.findOrCreate(email: redeemed.email, on: sql)
                try await sql.update("users").set("password_hash", to: hash).where("id", .equal, user.id).run()
            }
            try await sql.insert(into: "memberships").model(
                MembershipRow(
                    id: Identifier.make("mbr"),
                    user_id: user.id,
                    merchant_id: merchantID,
                    role: role,
                    created_ms: clock.now().millis
                )
            ).run()
            return (try await accounts.get(id: user.id, on: sql), merchantID)
        }
    }
}
