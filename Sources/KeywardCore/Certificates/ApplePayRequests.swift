import Foundation
import KeywardCrypto
import SQLKit
import SwiftASN1
import X509

/// A certificate signing request Keyward made for Apple Pay.
public struct CertificateRequestInfo: Sendable, Equatable {
    public let id: String
    public let type: CertificateType
    public let name: String
    public let keyType: String
    /// What to upload to Apple's developer portal (`.certSigningRequest` is this PEM).
    public let csrPEM: String
    /// The stored certificate once Apple's answer was accepted.
    public let certificateID: String?
    public let createdAt: Date
}

/// The Apple Pay flow: Keyward generates the key Apple requires (RSA 2048 for merchant identity, EC
/// P-256 for payment processing), keeps it sealed, hands out the CSR, and accepts the certificate
/// Apple returns (DER `.cer`) only for that key.
public struct ApplePayRequests: Sendable {
    let store: KeywardStore
    let keyring: MasterKeyring
    let certificates: CertificateService
    let clock: KeywardClock

    public init(store: KeywardStore, keyring: MasterKeyring, certificates: CertificateService, clock: KeywardClock = .system) {
        self.store = store
        self.keyring = keyring
        self.certificates = certificates
        self.clock = clock
    }

    static func sealContext(id: String) -> String { "certificate_request:\(id)" }

    struct Row: Codable {
        let id: String
        let merchant_id: String
        let mode: String
        let type: String
        let name: String
        let key_type: String
        let csr_pem: String
        let sealed_private_key: String
        let certificate_id: String?
        let created_ms: Int64

        var info: CertificateRequestInfo {
            CertificateRequestInfo(
                id: id,
                type: CertificateType(rawValue: type) ?? .applePayMerchantIdentity,
                name: name,
                keyType: key_type,
                csrPEM: csr_pem,
                certificateID: certificate_id,
                createdAt: Date(millis: created_ms)
            )
        }
    }

    /// Creates the key and the CSR for `type` (merchant identity or payment processing).
    public func create(merchantID: String, mode: Mode, type: CertificateType, name: String) async throws -> CertificateRequestInfo {
        _ = try await MerchantService(store: store, clock: clock).get(id: merchantID)
        let name = try Validation.name(name, field: "name", maximum: 64)
        let algorithm: KeyAlgorithm
        switch type {
        case .applePayMerchantIdentity: algorithm = .rsa2048
        case .applePayPaymentProcessing: algorithm = .p256
        default:
            throw KeywardError.invalid(
                .invalidType,
                "Keyward makes CSRs for apple_pay_merchant_identity (RSA 2048) and apple_pay_payment_processing (EC P-256).",
                field: "type"
            )
        }
        // RSA key generation and signing the CSR are CPU work: on the bounded pool.
        let (pair, der) = try await certificates.heavyWork.run {
            let pair = try GeneratedKeyPair.generate(algorithm)
            let key = try Certificate.PrivateKey(pemEncoded: pair.privateKeyPEM)
            return (pair, try CertificateRequest.make(privateKey: key, commonName: name))
        }
        let csrPEM = PEMDocument(type: "CERTIFICATE REQUEST", derBytes: der).pemString
        let id = Identifier.make("csr")
        let row = Row(
            id: id,
            merchant_id: merchantID,
            mode: mode.rawValue,
            type: type.rawValue,
            name: name,
            key_type: algorithm == .rsa2048 ? "RSA 2048" : "EC P-256",
            csr_pem: csrPEM,
            sealed_private_key: try keyring.seal(string: pair.privateKeyPEM, context: Self.sealContext(id: id)),
            certificate_id: nil,
            created_ms: clock.now().millis
        )
        try await store.sql.insert(into: "certificate_requests").model(row).run()
        return row.info
    }

    /// The merchant's requests in `mode`, newest first.
    public func list(merchantID: String, mode: Mode, limit: Int = 100) async throws -> [CertificateRequestInfo] {
        try await store.sql.select().column("*").from("certificate_requests").where("merchant_id", .equal, merchantID)
            .where("mode", .equal, mode.rawValue).orderBy("created_ms", .descending).limit(limit).all(decoding: Row.self).map(\.info)
    }

    /// The merchant's request.
    public func get(merchantID: String, mode: Mode, id: String) async throws -> CertificateRequestInfo {
        try await row(merchantID: merchantID, mode: mode, id: id).info
    }

    func row(merchantID: String, mode: Mode, id: String) async throws -> Row {
        guard Identifier.isWellFormed(id, prefix: "csr"),
            let row = try await store.sql.select().column("*").from("certificate_requests").where("id", .equal, id)
                .where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue).first(decoding: Row.self)
        else { throw KeywardError.notFound("certificate request", id: id) }
        return row
    }

    /// Accepts Apple's certificate (DER `.cer` or PEM) for the request: it must carry the request's
    /// public key. Stored with the sealed key under the request's type.
    public func complete(
        merchantID: String,
        mode: Mode,
        id: String,
        certificate: [UInt8]
    ) async throws -> (info: CertificateInfo, findings: [CertificateFinding]) {
        let request = try await row(merchantID: merchantID, mode: mode, id: id)
        guard request.certificate_id == nil else {
            throw KeywardError(.conflict, .requestCompleted, "This request already has its certificate; make a new request to renew.")
        }
        let keyPEM = try keyring.openString(request.sealed_private_key, context: Self.sealContext(id: id))
        let material = try CertificateMaterial.read([certificate])
        guard let leaf = material.certificates.first else {
            throw KeywardError.invalid(.notACertificateFile, "Send the certificate Apple returned (.cer, DER or PEM).", field: "certificate")
        }
        let key = try Certificate.PrivateKey(pemEncoded: keyPEM)
        guard leaf.publicKey == key.publicKey else {
            throw KeywardError.invalid(
                .certificateNotForThisRequest,
                "This certificate was issued for another key, not for request \(id)'s CSR.",
                field: "certificate"
            )
        }
        let stored = try await certificates.upload(
            merchantID: merchantID,
            mode: mode,
            type: CertificateType(rawValue: request.type) ?? .applePayMerchantIdentity,
            name: request.name,
            files: [certificate, Array(keyPEM.utf8)]
        )
        try await store.sql.update("certificate_requests").set("certificate_id", to: stored.info.id).where("id", .equal, id).run()
        return stored
    }
}
