import Foundation
import KeywardCore
import KeywardCrypto

/// How a private key leaves Keyward, the one time it does: PKCS#8 PEM, encrypted PKCS#8 when the caller
/// gives a passphrase (then no plaintext form at all), and otherwise PKCS#1 (RSA) and a JWK too.
struct PrivateKeyOutput: Encodable {
    let private_key: String
    let private_key_pkcs1: String?
    let private_jwk: [String: String]?

    /// Passphrases for encrypted PKCS#8: long enough to resist guessing once the file leaks.
    static func validate(passphrase: String?) throws -> [UInt8]? {
        guard let passphrase else { return nil }
        guard (12...1024).contains(passphrase.utf8.count) else {
            throw KeywardError(.invalidInput, .invalidPassphrase, "'passphrase' must be 12 to 1024 bytes.", field: "passphrase")
        }
        return Array(passphrase.utf8)
    }

    init(pkcs8PEM: String, signingKey: HTTPSigningKey?, keyID: String, passphrase: [UInt8]?) throws {
        if let passphrase {
            private_key = try EncryptedPKCS8.encrypt(pem: pkcs8PEM, passphrase: passphrase)
            private_key_pkcs1 = nil
            private_jwk = nil
            return
        }
        private_key = pkcs8PEM
        if case .rsa(let rsa, _) = signingKey { private_key_pkcs1 = rsa.pkcs1PEM } else { private_key_pkcs1 = nil }
        private_jwk = try signingKey.map { Dictionary(uniqueKeysWithValues: try PrivateJWK.members($0, keyID: keyID)) }
    }
}
