import Foundation
import KeywardCrypto
import SQLKit
import X509

/// What the HTTPS listener needs to serve a domain: the chain (leaf first) and the private key, PEM.
public struct ServingCertificate: Sendable {
    public let certificateID: String
    public let chainPEM: [String]
    public let privateKeyPEM: String
    public let notAfter: Date
}

extension CertificateService {
    /// Stores a chain Keyward obtained by ACME (source `acme`), with its private key sealed.
    public func storeIssued(merchantID: String, mode: Mode, name: String, chainPEM: String, privateKeyPEM: String) async throws -> CertificateInfo {
        try await upload(
            merchantID: merchantID,
            mode: mode,
            type: .ssl,
            name: name,
            files: [Array(chainPEM.utf8), Array(privateKeyPEM.utf8)],
            source: "acme"
        ).info
    }

    /// The certificate to serve for `serverName`: the certificate of the channel that claims the name
    /// (or, for `a.example.com`, a channel claiming `*.example.com`) for a merchant who has verified
    /// it, when that certificate is stored with its key. Nil means: fall back to the default certificate.
    public func serving(serverName: String) async throws -> ServingCertificate? {
        guard let name = DomainName.host(serverName) else { return nil }
        var candidates = [name]
        if let dot = name.firstIndex(of: ".") { candidates.append("*" + name[dot...]) }
        struct Row: Decodable {
            let id: String
            let certificate_pem: String
            let chain_pem: String
            let sealed_private_key: String?
            let not_after_ms: Int64
            let domain: String
        }
        let rows = try await store.sql.select()
            .column(SQLColumn("id", table: "certificates")).column("certificate_pem").column("chain_pem").column("sealed_private_key")
            .column("not_after_ms").column(SQLColumn("domain", table: "channel_domains"))
            .from("channel_domains")
            .join("sales_channels", on: SQLColumn("id", table: "sales_channels"), .equal, SQLColumn("channel_id", table: "channel_domains"))
            .join("certificates", on: SQLColumn("id", table: "certificates"), .equal, SQLColumn("certificate_id", table: "sales_channels"))
            .join(
                "domain_verifications",
                on: SQLColumn("merchant_id", table: "domain_verifications"),
                .equal,
                SQLColumn("merchant_id", table: "channel_domains")
            )
            .where(SQLColumn("domain", table: "channel_domains"), .in, SQLBind.group(candidates))
            .where(SQLColumn("domain", table: "domain_verifications"), .equal, SQLColumn("domain", table: "channel_domains"))
            .where(SQLColumn("status", table: "domain_verifications"), .equal, SQLBind(DomainVerificationStatus.verified.rawValue))
            .all(decoding: Row.self)
        guard let row = rows.first(where: { $0.domain == name }) ?? rows.first, let sealed = row.sealed_private_key else { return nil }
        let key = try keyring.openString(sealed, context: CertificateRow.sealContext(id: row.id))
        let chain = [row.certificate_pem] + PEMBlocks.split(row.chain_pem)
        return ServingCertificate(certificateID: row.id, chainPEM: chain, privateKeyPEM: key, notAfter: Date(millis: row.not_after_ms))
    }

    /// A stored certificate's leaf, parsed (ACME renewals ask the CA's ARI about it).
    public func parsedCertificate(id: String) async throws -> Certificate {
        struct Row: Decodable { let certificate_pem: String }
        guard let row = try await store.sql.select().column("certificate_pem").from("certificates").where("id", .equal, id).first(decoding: Row.self)
        else {
            throw KeywardError.notFound("certificate", id: id, scoped: false)
        }
        return try Certificate(pemEncoded: row.certificate_pem)
    }
}

/// Splits concatenated PEM blocks.
enum PEMBlocks {
    static func split(_ text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("-----BEGIN ") { current = [line] } else if !current.isEmpty { current.append(line) }
            if line.hasPrefix("-----END "), !current.isEmpty {
                blocks.append(current.joined(separator: "\n") + "\n")
                current = []
            }
        }
        return blocks
    }
}
