import Foundation
import KeywardCrypto
import SQLKit

/// What the ACME worker keeps in the database so every instance shares it: one account per directory
/// URL (its key sealed) and the HTTP-01 answers waiting for the CA (any instance's HTTP listener can
/// answer a challenge another instance ordered).
public struct ACMEState: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let clock: KeywardClock

    public init(store: KeywardStore, keyring: MasterKeyring, clock: KeywardClock = .system) {
        self.store = store
        self.keyring = keyring
        self.clock = clock
    }

    struct AccountRow: Codable {
        let id: String
        let directory_url: String
        let account_url: String?
        let sealed_private_key: String
        let created_ms: Int64
    }

    static func accountContext(_ id: String) -> String { "acme_account:\(id)" }

    /// The account key (PKCS#8 PEM) and URL for `directoryURL`, creating the key with `makeKeyPEM` on first use.
    public func account(directoryURL: String, makeKeyPEM: () -> String) async throws -> (id: String, keyPEM: String, accountURL: String?) {
        if let row = try await store.sql.select().column("*").from("acme_accounts").where("directory_url", .equal, directoryURL).first(
            decoding: AccountRow.self
        ) {
            return (row.id, try keyring.openString(row.sealed_private_key, context: Self.accountContext(row.id)), row.account_url)
        }
        let id = Identifier.make("acct")
        let pem = makeKeyPEM()
        let row = AccountRow(
            id: id,
            directory_url: directoryURL,
            account_url: nil,
            sealed_private_key: try keyring.seal(string: pem, context: Self.accountContext(id)),
            created_ms: clock.now().millis
        )
        do {
            try await store.sql.insert(into: "acme_accounts").model(row).run()
            return (id, pem, nil)
        } catch {
            // Another instance created it first: use theirs.
            guard
                let theirs = try await store.sql.select().column("*").from("acme_accounts").where("directory_url", .equal, directoryURL).first(
                    decoding: AccountRow.self
                )
            else { throw error }
            return (theirs.id, try keyring.openString(theirs.sealed_private_key, context: Self.accountContext(theirs.id)), theirs.account_url)
        }
    }

    /// Remembers the account URL once the CA has registered the account.
    public func saveAccountURL(id: String, accountURL: String) async throws {
        try await store.sql.update("acme_accounts").set("account_url", to: accountURL).where("id", .equal, id).run()
    }

    /// Publishes an HTTP-01 key authorization for an hour at most, answered only on `domain`'s Host.
    public func publishChallenge(token: String, keyAuthorization: String, domain: String) async throws {
        try await store.sql.delete(from: "acme_challenges").where("token", .equal, token).run()
        try await store.sql.insert(into: "acme_challenges").columns("token", "key_authorization", "expires_ms", "domain")
            .values(SQLBind(token), SQLBind(keyAuthorization), SQLBind(clock.now().addingTimeInterval(3600).millis), SQLBind(domain.lowercased()))
            .run()
    }

    public func withdrawChallenge(token: String) async throws {
        try await store.sql.delete(from: "acme_challenges").where("token", .equal, token).run()
        try await store.sql.delete(from: "acme_challenges").where("expires_ms", .lessThan, clock.now().millis).run()
    }

    /// The key authorization for `token`, if one is published and fresh and was made for the request's
    /// `host` (the Host header): a challenge for one domain is never answered on another name, so a
    /// name that merely resolves to Keyward cannot pass validation with somebody else's order.
    public func challengeResponse(token: String, host: String?) async throws -> String? {
        guard (1...256).contains(token.utf8.count), token.utf8.allSatisfy({ Base64URL.isAlphabet($0) }),
            let host = host.flatMap(DomainName.host)
        else { return nil }
        struct Row: Decodable { let key_authorization: String }
        return try await store.sql.select().column("key_authorization").from("acme_challenges").where("token", .equal, token)
            .where("domain", .equal, host).where("expires_ms", .greaterThan, clock.now().millis).first(decoding: Row.self)?.key_authorization
    }
}
