import Foundation
import SQLKit

/// Apple Pay's domain-association file, one per merchant, served at
/// `/.well-known/apple-developer-merchantid-domain-association` on that merchant's channel domains.
public struct DomainAssociationService: Sendable {
    let store: KeywardStore
    let clock: KeywardClock

    /// Apple's files are a few kilobytes of hex; anything near this is not one.
    public static let maximumBytes = 64 * 1024

    public init(store: KeywardStore, clock: KeywardClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// Stores (or replaces) the merchant's file.
    public func set(merchantID: String, content: [UInt8]) async throws {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        guard !content.isEmpty, content.count <= Self.maximumBytes else {
            throw KeywardError(
                .tooLarge,
                .invalidFile,
                "The domain-association file is 1 byte to \(Self.maximumBytes / 1024) KiB (Apple's is a few KiB)."
            )
        }
        guard let text = String(bytes: content, encoding: .utf8), !text.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw KeywardError.invalid(.invalidFile, "The domain-association file Apple gives is text; this is binary.")
        }
        try await store.transaction { sql in
            try await sql.delete(from: "domain_associations").where("merchant_id", .equal, merchantID).run()
            try await sql.insert(into: "domain_associations").columns("merchant_id", "content", "updated_ms")
                .values(SQLBind(merchantID), SQLBind(text), SQLBind(clock.now().millis)).run()
        }
    }

    /// Whether the merchant has a file.
    public func exists(merchantID: String) async throws -> Bool {
        struct Row: Decodable { let merchant_id: String }
        return try await store.sql.select().column("merchant_id").from("domain_associations").where("merchant_id", .equal, merchantID).first(
            decoding: Row.self
        ) != nil
    }

    public func delete(merchantID: String) async throws {
        try await store.sql.delete(from: "domain_associations").where("merchant_id", .equal, merchantID).run()
    }

    /// The file to serve for `host`: that of the merchant who claims the host (exactly) in a channel
    /// and has verified it. An unverified claim serves nothing.
    public func content(forHost host: String) async throws -> String? {
        guard let name = DomainName.host(host) else { return nil }
        struct Row: Decodable { let content: String }
        return try await store.sql.select().column(SQLColumn("content", table: "domain_associations")).from("channel_domains")
            .join(
                "domain_verifications",
                on: SQLColumn("merchant_id", table: "domain_verifications"),
                .equal,
                SQLColumn("merchant_id", table: "channel_domains")
            )
            .join(
                "domain_associations",
                on: SQLColumn("merchant_id", table: "domain_associations"),
                .equal,
                SQLColumn("merchant_id", table: "channel_domains")
            )
            .where(SQLColumn("domain", table: "channel_domains"), .equal, SQLBind(name))
            .where(SQLColumn("domain", table: "domain_verifications"), .equal, SQLColumn("domain", table: "channel_domains"))
            .where(SQLColumn("status", table: "domain_verifications"), .equal, SQLBind(DomainVerificationStatus.verified.rawValue))
            .first(decoding: Row.self)?.content
    }
}
