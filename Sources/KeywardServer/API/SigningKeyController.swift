import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/v1/manage/signing-keys`: the public keys a merchant signs requests with (RFC 9421 `keyid`).
struct SigningKeyController {
    let signingKeys: SigningKeyService
    /// Where generated key pairs are made (off the event loops, bounded: 503 `server_busy` when full).
    let heavyWork: HeavyWork
    var clock: KeywardClock = .system

    func addRoutes(to manage: ManageRoutes) {
        manage.listRoute("signing-keys") { key, page in
            let now = clock.now()
            return try await signingKeys.list(merchantID: key.merchantID, mode: key.mode, limit: page.fetchLimit, startingAfter: page.startingAfter)
                .map { SigningKeyResource($0, now: now) }
        }
        manage.post("signing-keys", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(RegisterSigningKeyBody.self, from: request)
            let info = try await signingKeys.register(
                merchantID: key.merchantID,
                mode: key.mode,
                name: body.name,
                pem: body.public_key,
                limits: try body.requestedLimits(for: key),
                by: .key(key)
            )
            return try JSONResponse.make(SigningKeyResource(info, now: clock.now()), status: .created)
        }
        manage.post("signing-keys/generate", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(GenerateSigningKeyBody.self, from: request)
            guard let algorithm = KeyAlgorithm(rawValue: body.algorithm) else {
                throw KeywardError(
                    .invalidInput,
                    .unsupportedAlgorithm,
                    "'algorithm' must be one of \(KeyAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).",
                    field: "algorithm"
                )
            }
            let passphrase = try PrivateKeyOutput.validate(passphrase: body.passphrase)
            // Checked before the generation (RSA: seconds of CPU), so bad input is refused first.
            let limits = try body.checkedLimits(for: key, now: clock.now())
            let pair = try await heavyWork.run { try GeneratedKeyPair.generate(algorithm) }
            let info = try await signingKeys.register(
                merchantID: key.merchantID,
                mode: key.mode,
                name: body.name,
                pem: pair.publicKey.spkiPEM,
                keepingPrivateKey: body.keep_private_key == true ? pair.privateKeyPEM : nil,
                limits: limits,
                by: .key(key)
            )
            // The private key is in this answer only, unless the merchant asked Keyward to keep it sealed.
            let output = try PrivateKeyOutput(pkcs8PEM: pair.privateKeyPEM, signingKey: pair.signingKey, keyID: info.id, passphrase: passphrase)
            return try JSONResponse.make(SigningKeyResource(info, now: clock.now(), privateKey: output), status: .created)
        }
        manage.post("signing-keys/:id/private-key", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(ExportPrivateKeyBody.self, from: request)
            let passphrase = try PrivateKeyOutput.validate(passphrase: body.passphrase)
            let id = try context.parameters.require("id")
            let pem = try await signingKeys.exportPrivateKey(merchantID: key.merchantID, mode: key.mode, id: id)
            let signingKey = try? HTTPSigningKey(pem: pem)
            return try JSONResponse.make(try PrivateKeyOutput(pkcs8PEM: pem, signingKey: signingKey, keyID: id, passphrase: passphrase))
        }
        manage.revokeRoute("signing-keys") { target in
            SigningKeyResource(
                try await signingKeys.revoke(merchantID: target.key.merchantID, mode: target.key.mode, id: target.id),
                now: clock.now()
            )
        }
    }
}

struct RegisterSigningKeyBody: StrictJSONBody, LimitedCredentialBody {
    static let fields = Set<String>(["name", "public_key"]).union(limitFields)
    let name: String?
    let public_key: String
    let permissions: [String]?
    let allowed_ips: [String]?
    let expires_at: String?
}

struct GenerateSigningKeyBody: StrictJSONBody, LimitedCredentialBody {
    static let fields = Set<String>(["name", "algorithm", "passphrase", "keep_private_key"]).union(limitFields)
    let permissions: [String]?
    let allowed_ips: [String]?
    let expires_at: String?
    let name: String?
    let algorithm: String
    /// Encrypts the returned private key (PKCS#8, PBES2 AES-256-CBC) under this passphrase.
    let passphrase: String?
    /// Keep the private key sealed in Keyward so it can be exported later.
    let keep_private_key: Bool?
}

struct ExportPrivateKeyBody: StrictJSONBody {
    static let fields: Set<String> = ["passphrase"]
    let passphrase: String?
}
