import Foundation
import KeywardCrypto
import SQLKit
import X509

/// What a certificate is for.
public enum CertificateType: String, Sendable, CaseIterable, Codable {
    case ssl
    case applePayMerchantIdentity = "apple_pay_merchant_identity"
    case applePayPaymentProcessing = "apple_pay_payment_processing"
    case applePayIdentityProof = "apple_pay_identity_proof"
}

/// Where a certificate stands at a moment: valid, expiring (28 days or less), critical (14 or less), expired.
public enum CertificateStatus: String, Sendable, Codable {
    case valid, expiring, critical, expired

    public static let expiringDays = 28
    public static let criticalDays = 14

    public init(notAfter: Date, now: Date) {
        let left = notAfter.timeIntervalSince(now)
        if left <= 0 {
            self = .expired
        } else if left <= Double(Self.criticalDays) * 86400 {
            self = .critical
        } else if left <= Double(Self.expiringDays) * 86400 {
            self = .expiring
        } else {
            self = .valid
        }
    }
}

/// A stored certificate as listings show it.
public struct CertificateInfo: Sendable, Equatable {
    public let id: String
    public let merchantID: String
    public let mode: Mode
    public let type: CertificateType
    public let name: String
    public let subject: String
    public let issuer: String
    public let serial: String
    public let names: [String]
    public let keyType: String
    public let fingerprint: String
    public let notBefore: Date
    public let notAfter: Date
    /// The leaf, then the chain, PEM: the public parts, for export.
    public let certificatePEM: String
    public let chainPEM: String
    public let hasPrivateKey: Bool
    public let createdAt: Date
    /// `uploaded`, or `acme` for certificates Keyward obtained.
    public let source: String

    public func status(at now: Date) -> CertificateStatus { CertificateStatus(notAfter: notAfter, now: now) }
    /// Whole days left at `now` (negative once expired).
    public func daysLeft(at now: Date) -> Int { Int((notAfter.timeIntervalSince(now) / 86400).rounded(.down)) }
}

/// The columns a listing shows (no PEM, no sealed key): a fraction of a full row to read and decode.
struct CertificateSummaryRow: Decodable {
    static let columns = [
        "id", "merchant_id", "mode", "type", "name", "subject", "issuer", "serial", "names", "key_type", "fingerprint",
        "not_before_ms", "not_after_ms", "created_ms", "source",
    ]
    let id: String, merchant_id: String, mode: String, type: String, name: String, subject: String, issuer: String, serial: String
    let names: String, key_type: String, fingerprint: String, not_before_ms: Int64, not_after_ms: Int64, created_ms: Int64, source: String

    var info: CertificateInfo {
        CertificateInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            type: CertificateType(rawValue: type) ?? .ssl,
            name: name,
            subject: subject,
            issuer: issuer,
            serial: serial,
            names: JSONText.decode([String].self, names) ?? [],
            keyType: key_type,
            fingerprint: fingerprint,
            notBefore: Date(millis: not_before_ms),
            notAfter: Date(millis: not_after_ms),
            certificatePEM: "",
            chainPEM: "",
            hasPrivateKey: false,
            createdAt: Date(millis: created_ms),
            source: source
        )
    }
}

struct CertificateRow: Codable {
    let id: String
    let merchant_id: String
    let mode: String
    let type: String
    let name: String
    let subject: String
    let issuer: String
    let serial: String
    let names: String
    let key_type: String
    let fingerprint: String
    let not_before_ms: Int64
    let not_after_ms: Int64
    let certificate_pem: String
    let chain_pem: String
    let sealed_private_key: String?
    let created_ms: Int64
    /// `uploaded` or `acme`.
    let source: String
    /// The last expiry state a webhook announced (nil: none yet).
    let alerted_status: String?

    var info: CertificateInfo {
        CertificateInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            type: CertificateType(rawValue: type) ?? .ssl,
            name: name,
            subject: subject,
            issuer: issuer,
            serial: serial,
            names: JSONText.decode([String].self, names) ?? [],
            keyType: key_type,
            fingerprint: fingerprint,
            notBefore: Date(millis: not_before_ms),
            notAfter: Date(millis: not_after_ms),
            certificatePEM: certificate_pem,
            chainPEM: chain_pem,
            hasPrivateKey: sealed_private_key != nil,
            createdAt: Date(millis: created_ms),
            source: source
        )
    }

    static func sealContext(id: String) -> String { "certificate:\(id)" }
}

/// An upload that was refused: every finding, the first error's code on top.
public struct CertificateUploadRefusal: Error, Sendable {
    public let findings: [CertificateFinding]
    public var code: ErrorCode { findings.first { $0.severity == .error }?.code ?? .invalidCertificate }
    public var message: String {
        findings.filter { $0.severity == .error }.map(\.message).joined(separator: " ")
    }
}

/// The certificate store: uploads are read and judged as a whole, stored only when acceptable (never
/// half-stored), private keys sealed.
public struct CertificateService: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let changes: CredentialChanges
    let clock: KeywardClock

    public let heavyWork: HeavyWork

    public init(
        store: KeywardStore,
        keyring: MasterKeyring,
        changes: CredentialChanges,
        clock: KeywardClock = .system,
        heavyWork: HeavyWork = .shared
    ) {
        self.store = store
        self.keyring = keyring
        self.changes = changes
        self.clock = clock
        self.heavyWork = heavyWork
    }

    /// Reads, judges and stores an upload. Throws `CertificateFileError` for unreadable files,
    /// `CertificateUploadRefusal` when the inspection finds errors. Returns the stored certificate and
    /// the warnings and notes worth showing.
    public func upload(
        merchantID: String,
        mode: Mode,
        type: CertificateType,
        name: String?,
        files: [[UInt8]],
        passphrase: [UInt8]? = nil,
        source: String = "uploaded"
    ) async throws -> (info: CertificateInfo, findings: [CertificateFinding]) {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        // Decrypting the key (PBKDF2) and building the chain are CPU work: on the bounded pool.
        let now = clock.now()
        let inspection = try await heavyWork.run {
            let material = try CertificateMaterial.read(files, passphrase: passphrase)
            return CertificateInspection.inspect(material, now: now, requirePrivateKey: type == .ssl, expectCAChain: type == .ssl)
        }
        guard inspection.isAcceptable, let leaf = inspection.leaf else { throw CertificateUploadRefusal(findings: inspection.findings) }
        let summary = CertificateSummary(leaf)
        let id = Identifier.make("crt")
        let chainPEM = try inspection.chain.dropFirst().map { try $0.serializeAsPEM().pemString }.joined(separator: "\n")
        let sealedKey = try inspection.privateKey.map {
            try keyring.seal(string: try $0.serializeAsPEM().pemString, context: CertificateRow.sealContext(id: id))
        }
        let row = CertificateRow(
            id: id,
            merchant_id: merchantID,
            mode: mode.rawValue,
            type: type.rawValue,
            name: try Validation.name(name ?? summary.subjectAltNames.first ?? summary.subject, field: "name"),
            subject: summary.subject,
            issuer: summary.issuer,
            serial: summary.serial,
            names: JSONText.encode(summary.subjectAltNames),
            key_type: summary.keyType,
            fingerprint: summary.sha256Fingerprint,
            not_before_ms: summary.notBefore.millis,
            not_after_ms: summary.notAfter.millis,
            certificate_pem: try leaf.serializeAsPEM().pemString,
            chain_pem: chainPEM,
            sealed_private_key: sealedKey,
            created_ms: clock.now().millis,
            source: source,
            alerted_status: nil
        )
        try await changes.commit(in: store, target: id) { sql in try await sql.insert(into: "certificates").model(row).run() }
        return (row.info, inspection.findings)
    }

    /// The merchant's certificates in `mode`, soonest expiry first; `expiringWithin` days keeps only those.
    ///
    /// `withPEM: false` reads only what a listing shows (pages of many certificates): the PEM fields of the
    /// answers are then empty and `hasPrivateKey` is false.
    public func list(
        merchantID: String?,
        mode: Mode?,
        expiringWithin days: Int? = nil,
        limit: Int = 1000,
        withPEM: Bool = true
    ) async throws -> [CertificateInfo] {
        var query = store.sql.select().from("certificates")
        query = withPEM ? query.column("*") : query.columns(CertificateSummaryRow.columns.map { SQLColumn($0) })
        if let merchantID { query = query.where("merchant_id", .equal, merchantID) }
        if let mode { query = query.where("mode", .equal, mode.rawValue) }
        if let days { query = query.where("not_after_ms", .lessThanOrEqual, clock.now().addingTimeInterval(Double(days) * 86400).millis) }
        query = query.orderBy("not_after_ms").orderBy("id").limit(limit)
        return withPEM
            ? try await query.all(decoding: CertificateRow.self).map(\.info) : try await query.all(decoding: CertificateSummaryRow.self).map(\.info)
    }

    /// One certificate of the merchant in `mode`.
    public func get(merchantID: String, mode: Mode, id: String) async throws -> CertificateInfo {
        guard Identifier.isWellFormed(id, prefix: "crt"),
            let row = try await store.sql.select().column("*").from("certificates").where("id", .equal, id)
                .where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue).first(decoding: CertificateRow.self)
        else { throw KeywardError.notFound("certificate", id: id) }
        return row.info
    }
}
