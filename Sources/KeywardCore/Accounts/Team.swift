import Foundation
import SQLKit

/// A member of a merchant's team.
public struct Member: Sendable, Equatable {
    public let user: UserInfo
    public let role: MemberRole
    public let since: Date
}

/// A merchant's team: custom roles, members and their roles, invitations. A merchant always keeps at
/// least one owner.
public struct TeamService: Sendable {
    let store: KeywardStore
    let accounts: AccountService
    let clock: KeywardClock

    public static let invitationLifetime: TimeInterval = 7 * 86400

    public init(store: KeywardStore, accounts: AccountService, clock: KeywardClock = .system) {
        self.store = store
        self.accounts = accounts
        self.clock = clock
    }

    struct RoleRow: Codable {
        let id: String
        let merchant_id: String
        let name: String
        let permissions: String
        let created_ms: Int64
        var role: MemberRole {
            .custom(id: id, name: name, permissions: Set((JSONText.decode([String].self, permissions) ?? []).compactMap(Permission.init)))
        }
    }

    /// Creates a custom role.
    public func createRole(merchantID: String, name: String, permissions: [String]) async throws -> MemberRole {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(name, field: "name", maximum: 60)
        guard DefaultRole(rawValue: name.lowercased()) == nil else {
            throw KeywardError.invalid(.invalidField, "'\(name)' is a default role's name.", field: "name")
        }
        var set = Set<Permission>()
        for value in permissions {
            guard let permission = Permission(rawValue: value) else {
                throw KeywardError.invalid(
                    .invalidPermission,
                    "Unknown permission '\(value.prefix(40))'; known: \(Permission.allCases.map(\.rawValue).joined(separator: ", ")).",
                    field: "permissions"
                )
            }
            set.insert(permission)
        }
        let row = RoleRow(
            id: Identifier.make("rol"),
            merchant_id: merchantID,
            name: name,
            permissions: JSONText.encode(set.sorted().map(\.rawValue)),
            created_ms: clock.now().millis
        )
        try await store.auditedTransaction(target: row.id) { sql in try await sql.insert(into: "custom_roles").model(row).run() }
        return row.role
    }

    /// The default roles and the merchant's custom ones.
    public func roles(merchantID: String) async throws -> [MemberRole] {
        let custom = try await store.sql.select().column("*").from("custom_roles").where("merchant_id", .equal, merchantID).orderBy("created_ms")
            .all(decoding: RoleRow.self).map(\.role)
        return DefaultRole.allCases.map { .builtIn($0) } + custom
    }

    /// A stored role value (default name or custom id) of this merchant.
    public func role(merchantID: String, value: String) async throws -> MemberRole {
        if let role = DefaultRole(rawValue: value) { return .builtIn(role) }
        guard
            let row = try await store.sql.select().column("*").from("custom_roles").where("id", .equal, value).where(
                "merchant_id",
                .equal,
                merchantID
            )
            .first(decoding: RoleRow.self)
        else {
            throw KeywardError.invalid(
                .invalidRole,
                "'\(value.prefix(40))' is neither a default role (\(DefaultRole.allCases.map(\.rawValue).joined(separator: ", "))) nor one of this merchant's custom roles.",
                field: "role"
            )
        }
        return row.role
    }

    struct MembershipRow: Codable {
        let id: String
        let user_id: String
        let merchant_id: String
        let role: String
        let created_ms: Int64
    }

    /// The member's role at the merchant, nil when not a member.
    public func membership(userID: String, merchantID: String) async throws -> MemberRole? {
        guard
            let row = try await store.sql.select().column("*").from("memberships").where("user_id", .equal, userID).where(
                "merchant_id",
                .equal,
                merchantID
            )
            .first(decoding: MembershipRow.self)
        else { return nil }
        return try? await role(merchantID: merchantID, value: row.role)
    }

    /// The merchants a user belongs to.
    public func merchants(userID: String) async throws -> [String] {
        try await store.sql.select().column("*").from("memberships").where("user_id", .equal, userID).orderBy("created_ms")
            .all(decoding: MembershipRow.self).map(\.merchant_id)
    }

    /// Creates the user if new and makes them a member; a new user gets a one-time setup link.
    public func addMember(email: String, merchantID: String, role: MemberRole) async throws -> (user: UserInfo, setup: OneTimeToken?) {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let email = try AccountService.normalize(email: email)
        return try await store.auditedTransaction { sql in
            let user = try await accounts.findOrCreate(email: email, on: sql)
            try await sql.insert(into: "memberships").model(
                MembershipRow(
                    id: Identifier.make("mbr"),
                    user_id: user.id,
                    merchant_id: merchantID,
                    role: role.storedValue,
                    created_ms: clock.now().millis
                )
            ).run()
            let setup =
                user.password_hash == nil
                ? try await accounts.issueToken(
                    sql,
                    purpose: "setup",
                    email: email,
                    userID: user.id,
                    merchantID: merchantID,
                    role: nil,
                    lifetime: AccountService.setupLinkLifetime
                )
                : nil
            return (user.info, setup)
        }
    }

    /// Members with their roles, oldest first.
    public func members(merchantID: String) async throws -> [Member] {
        var result: [Member] = []
        for row in try await store.sql.select().column("*").from("memberships").where("merchant_id", .equal, merchantID).orderBy("created_ms")
            .all(decoding: MembershipRow.self)
        {
            guard let role = try? await role(merchantID: merchantID, value: row.role) else { continue }
            result.append(Member(user: try await accounts.get(id: row.user_id), role: role, since: Date(millis: row.created_ms)))
        }
        return result
    }

    /// Changes a member's role; the last owner stays an owner. Every session of the member ends: what
    /// they may do changed, so they sign in again under the new role.
    public func changeRole(merchantID: String, userID: String, to role: MemberRole) async throws {
        try await keepAnOwner(merchantID: merchantID, losing: userID, unless: role == .builtIn(.owner))
        try await store.auditedTransaction(target: userID) { sql in
            try await sql.update("memberships").set("role", to: role.storedValue).where("merchant_id", .equal, merchantID).where(
                "user_id",
                .equal,
                userID
            ).run()
            try await sql.delete(from: "cabinet_sessions").where("user_id", .equal, userID).run()
        }
    }

    /// Removes a member (and their sessions in this merchant); the last owner cannot be removed.
    public func remove(merchantID: String, userID: String) async throws {
        try await keepAnOwner(merchantID: merchantID, losing: userID, unless: false)
        try await store.auditedTransaction(target: userID) { sql in
            try await sql.delete(from: "memberships").where("merchant_id", .equal, merchantID).where("user_id", .equal, userID).run()
            try await sql.delete(from: "cabinet_sessions").where("merchant_id", .equal, merchantID).where("user_id", .equal, userID).run()
        }
    }

    func keepAnOwner(merchantID: String, losing userID: String, unless stillOwner: Bool) async throws {
        guard let current = try await membership(userID: userID, merchantID: merchantID) else { throw KeywardError.notFound("member", id: userID) }
        guard current == .builtIn(.owner), !stillOwner else { return }
        let owners = try await store.sql.select().column("*").from("memberships").where("merchant_id", .equal, merchantID).where(
            "role",
            .equal,
            "owner"
        )
        .all(decoding: MembershipRow.self)
        guard owners.count > 1 else {
            throw KeywardError(.conflict, .lastOwner, "A merchant keeps at least one owner: make someone else owner first.")
        }
    }
}
