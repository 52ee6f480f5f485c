import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/v1/manage/certificates`: upload (judged as a whole, stored only when acceptable), list with status
/// and days left, one certificate with its public parts for export.
struct CertificateController {
    let certificates: CertificateService
    let channels: SalesChannelService
    let applePay: ApplePayRequests
    let clock: KeywardClock

    func addRoutes(to manage: ManageRoutes) {
        manage.post("certificates", needs: .write(.certificates)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(UploadCertificateBody.self, from: request)
            guard let type = CertificateType(rawValue: body.type) else {
                throw KeywardError(
                    .invalidInput,
                    .invalidType,
                    "'type' must be one of \(CertificateType.allCases.map(\.rawValue).joined(separator: ", ")).",
                    field: "type"
                )
            }
            guard !body.files.isEmpty, body.files.count <= 10 else {
                throw KeywardError(.invalidInput, .invalidField, "'files' holds 1 to 10 files (PEM text, or base64 of DER).", field: "files")
            }
            let files = try body.files.map { try Self.fileBytes($0, field: "files") }
            let uploaded = try await certificates.upload(
                merchantID: key.merchantID,
                mode: key.mode,
                type: type,
                name: body.name,
                files: files,
                passphrase: body.passphrase.map { Array($0.utf8) }
            )
            return try JSONResponse.make(CertificateResource(uploaded.info, now: clock.now(), findings: uploaded.findings), status: .created)
        }
        manage.get("certificates", needs: .read(.certificates)) { request, context in
            let key = context.principal
            let expiring = try request.uri.queryParameters["expiring"].map { text -> Int in
                guard let days = Int(text), (0...3650).contains(days) else {
                    throw KeywardError(.invalidInput, .invalidField, "'expiring' is a number of days (0-3650).", field: "expiring")
                }
                return days
            }
            let list = try await certificates.list(merchantID: key.merchantID, mode: key.mode, expiringWithin: expiring)
            let now = clock.now()
            let users = try await channelsByCertificate(merchantID: key.merchantID, mode: key.mode)
            return try JSONResponse.make(
                ListResource(data: list.map { CertificateResource($0, now: now, channels: users[$0.id] ?? []) }, has_more: list.count == 1000)
            )
        }
        addApplePayRoutes(to: manage)
        manage.get("certificates/:id", needs: .read(.certificates)) { _, context in
            let key = context.principal
            let info = try await certificates.get(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
            let users = try await channelsByCertificate(merchantID: key.merchantID, mode: key.mode)
            return try JSONResponse.make(CertificateResource(info, now: clock.now(), includePEM: true, channels: users[info.id] ?? []))
        }
    }

    /// A file sent in JSON: PEM text as is, anything else base64 of the DER bytes.
    static func fileBytes(_ text: String, field: String) throws -> [UInt8] {
        if text.contains("-----BEGIN ") { return Array(text.utf8) }
        guard let data = Data(base64Encoded: text.filter { !$0.isWhitespace }), !data.isEmpty else {
            throw KeywardError(.invalidInput, .notACertificateFile, "Each file is PEM text or base64 of a DER file.", field: field)
        }
        return Array(data)
    }

    /// Apple Pay: Keyward makes the key and CSR; Apple's certificate comes back for that key only.
    func addApplePayRoutes(to manage: ManageRoutes) {
        manage.post("apple-pay/certificate-requests", needs: .write(.certificates)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(CertificateRequestBody.self, from: request)
            guard let type = CertificateType(rawValue: body.type) else {
                throw KeywardError(
                    .invalidInput,
                    .invalidType,
                    "'type' is apple_pay_merchant_identity or apple_pay_payment_processing.",
                    field: "type"
                )
            }
            let created = try await applePay.create(merchantID: key.merchantID, mode: key.mode, type: type, name: body.name)
            return try JSONResponse.make(CertificateRequestResource(created), status: .created)
        }
        manage.get("apple-pay/certificate-requests/:id", needs: .read(.certificates)) { _, context in
            let key = context.principal
            return try JSONResponse.make(
                CertificateRequestResource(
                    try await applePay.get(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
                )
            )
        }
        manage.post("apple-pay/certificate-requests/:id/certificate", needs: .write(.certificates)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(AppleCertificateBody.self, from: request)
            let stored = try await applePay.complete(
                merchantID: key.merchantID,
                mode: key.mode,
                id: try context.parameters.require("id"),
                certificate: try Self.fileBytes(body.certificate, field: "certificate")
            )
            return try JSONResponse.make(CertificateResource(stored.info, now: clock.now(), findings: stored.findings), status: .created)
        }
    }

    /// Which channels use each certificate (names, as listings show them).
    func channelsByCertificate(merchantID: String, mode: Mode) async throws -> [String: [String]] {
        var users: [String: [String]] = [:]
        for channel in try await channels.list(merchantID: merchantID, mode: mode) {
            if let id = channel.certificateID { users[id, default: []].append(channel.id) }
        }
        return users
    }
}

struct UploadCertificateBody: StrictJSONBody {
    static let fields: Set<String> = ["type", "name", "files", "passphrase"]
    let type: String
    let name: String?
    /// Certificate, key and chain files: PEM text, or base64 of DER (`.cer`, `.p7b`).
    let files: [String]
    let passphrase: String?
}

struct CertificateResource: Encodable {
    let object = "certificate"
    let id: String
    let type: String
    let name: String
    let mode: String
    let subject: String
    let issuer: String
    let serial: String
    let names: [String]
    let key_type: String
    let sha256_fingerprint: String
    let not_before: String?
    let not_after: String?
    let status: String
    let days_left: Int
    let has_private_key: Bool
    /// `uploaded`, or `acme` for certificates of managed channels.
    let source: String
    /// Ids of the sales channels serving it.
    let channels: [String]?
    let created_at: String?
    /// Only for a single certificate: the leaf and chain PEM (public parts).
    let certificate_pem: String?
    let chain_pem: String?
    /// Only in the answer to an upload: warnings and notes (errors refuse the upload).
    let findings: [CertificateFinding]?

    init(_ info: CertificateInfo, now: Date, includePEM: Bool = false, findings: [CertificateFinding]? = nil, channels: [String]? = nil) {
        id = info.id
        type = info.type.rawValue
        name = info.name
        mode = info.mode.rawValue
        subject = info.subject
        issuer = info.issuer
        serial = info.serial
        names = info.names
        key_type = info.keyType
        sha256_fingerprint = info.fingerprint
        not_before = Timestamp.format(info.notBefore)
        not_after = Timestamp.format(info.notAfter)
        status = info.status(at: now).rawValue
        days_left = info.daysLeft(at: now)
        has_private_key = info.hasPrivateKey
        source = info.source
        self.channels = channels
        created_at = Timestamp.format(info.createdAt)
        certificate_pem = includePEM || findings != nil ? info.certificatePEM : nil
        chain_pem = includePEM || findings != nil ? info.chainPEM : nil
        self.findings = findings
    }
}

struct CertificateRequestBody: StrictJSONBody {
    static let fields: Set<String> = ["type", "name"]
    let type: String
    let name: String
}

struct AppleCertificateBody: StrictJSONBody {
    static let fields: Set<String> = ["certificate"]
    /// Apple's `.cer` as base64 of the DER bytes (or PEM text).
    let certificate: String
}

struct CertificateRequestResource: Encodable {
    let object = "certificate_request"
    let id: String
    let type: String
    let name: String
    let key_type: String
    let csr_pem: String
    let certificate_id: String?
    let created_at: String?

    init(_ info: CertificateRequestInfo) {
        id = info.id
        type = info.type.rawValue
        name = info.name
        key_type = info.keyType
        csr_pem = info.csrPEM
        certificate_id = info.certificateID
        created_at = Timestamp.format(info.createdAt)
    }
}
