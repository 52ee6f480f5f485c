import Foundation
import KeywardCrypto
import KeywardDialects

/// A header a signed request carries.
public struct ClientHeader: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Why a key or request could not be used. `code` is the same stable code the gateway uses
/// (`malformed_key`, `wrong_passphrase`, `rsa_key_too_small`, `invalid_url`, …).
public struct KeywardClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String
    public var description: String { "\(code): \(message)" }

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: some CodedError) { self.init(error.code, error.message) }
}

/// Whether a Keyward answer carries a valid signature.
public enum AnswerVerification: Sendable, Equatable {
    case valid
    case invalid(reason: String)
}

/// A secret key in the native scheme.
public struct SecretKeyCredential: Sendable {
    let secret: String

    public init(secret: String) { self.secret = secret }

    /// `Authorization: Bearer <secret>`.
    public var headers: [ClientHeader] { [ClientHeader("Authorization", "Bearer \(secret)")] }
}

/// Signs requests with RFC 9421 HTTP Message Signatures as Keyward's gateway expects: `@method`,
/// `@target-uri`, `content-digest` for bodies, `created` now and a fresh `nonce`.
public struct HTTPMessageSigner: Sendable {
    let key: HTTPSigningKey
    let keyID: String

    /// A signer for the registered key `keyID` (`sgk_…`) with its private key in PEM (PKCS#8, PKCS#1,
    /// SEC1; encrypted PKCS#8 with `passphrase`). RSA keys sign `rsa-pss-sha512`.
    public init(privateKeyPEM: String, keyID: String, passphrase: [UInt8]? = nil) throws(KeywardClientError) {
        do {
            self.key = try HTTPSigningKey(pem: privateKeyPEM, passphrase: passphrase)
        } catch {
            throw KeywardClientError(error)
        }
        self.keyID = keyID
    }

    /// The headers to add to `method url` with `body`: `Content-Digest` (with a body), `Signature-Input`, `Signature`.
    public func headers(
        method: String,
        url: String,
        body: [UInt8] = [],
        created: Date = Date(),
        nonce: String = UUID().uuidString
    ) throws(KeywardClientError) -> [ClientHeader] {
        do {
            return try ManualSigning.signRFC9421(
                method: method,
                url: url,
                body: body,
                key: key,
                keyID: keyID,
                created: Int(created.timeIntervalSince1970),
                nonce: nonce
            ).map { ClientHeader($0.name, $0.value) }
        } catch let error as ManualSigningError {
            throw KeywardClientError(.invalidURL, error.description)
        } catch {
            throw KeywardClientError(.signingFailed, "The request could not be signed.")
        }
    }
}

/// Signs myPOS IPC forms exactly as the myPOS SDKs do, for a store's `SID`, `WalletNumber` and key index.
public struct MyPOSSigner: Sendable {
    let key: RSASigningKey
    let sid: String
    let walletNumber: String
    let keyIndex: Int

    public init(privateKeyPEM: String, passphrase: [UInt8]? = nil, sid: String, walletNumber: String, keyIndex: Int) throws(KeywardClientError) {
        do {
            self.key = try RSASigningKey(pem: privateKeyPEM, passphrase: passphrase, minimumBits: 1024)
        } catch {
            throw KeywardClientError(error)
        }
        self.sid = sid
        self.walletNumber = walletNumber
        self.keyIndex = keyIndex
    }

    /// The form body to post: `parameters` in order, `SID`, `WalletNumber` and `KeyIndex` appended when
    /// absent, and `Signature` last.
    public func form(_ parameters: [(name: String, value: String)]) throws(KeywardClientError) -> String {
        var all = parameters.filter { $0.name != MyPOSIPC.signatureParameter }
        for (name, value) in [("SID", sid), ("WalletNumber", walletNumber), ("KeyIndex", String(keyIndex))]
        where !all.contains(where: { $0.name == name }) {
            all.append((name, value))
        }
        do {
            return FormEncoding.encode(try MyPOSIPC.signed(all, with: key))
        } catch {
            throw KeywardClientError(.signingFailed, "The form could not be signed.")
        }
    }
}

/// Checks Keyward's myPOS answers (form or JSON) with the platform certificate downloaded for the key index.
public struct MyPOSAnswerVerifier: Sendable {
    let key: VerificationKey

    public init(platformCertificatePEM: String) throws(KeywardClientError) {
        do {
            guard let key = try PublicKeyImport.parse(pem: platformCertificatePEM, minimumRSABits: 2048).first?.key else {
                throw KeywardClientError(.malformedKey, "No certificate in the PEM.")
            }
            self.key = key
        } catch let error as KeywardClientError {
            throw error
        } catch let error as CodedInputError {
            throw KeywardClientError(error)
        } catch {
            throw KeywardClientError(.malformedKey, "The certificate could not be read.")
        }
    }

    /// Verifies an answer body; JSON when `contentType` says so, else a form.
    public func verify(body: [UInt8], contentType: String?) -> AnswerVerification {
        let check: SignatureCheck
        if contentType?.lowercased().hasPrefix("application/json") == true {
            guard let document = try? OrderedJSON.parse(body) else { return .invalid(reason: "The answer is not JSON.") }
            check = MyPOSIPC.verifyJSON(document, with: key)
        } else {
            guard let form = try? FormEncoding.decode(body) else { return .invalid(reason: "The answer is not a form.") }
            check = MyPOSIPC.verify(form, with: key)
        }
        switch check {
        case .valid: return .valid
        case .invalid(_, let reason): return .invalid(reason: reason)
        }
    }
}

/// Signs AliKassa requests: `Account` and `Sign` over the exact body bytes.
public struct AliKassaSigner: Sendable {
    let key: RSASigningKey
    let account: String
    let digest: SignatureDigest

    /// `legacySHA1` only for a key registered as legacy; SHA-256 otherwise.
    public init(privateKeyPEM: String, passphrase: [UInt8]? = nil, account: String, legacySHA1: Bool = false) throws(KeywardClientError) {
        do {
            self.key = try RSASigningKey(pem: privateKeyPEM, passphrase: passphrase, minimumBits: 1024)
        } catch {
            throw KeywardClientError(error)
        }
        self.account = account
        self.digest = legacySHA1 ? .sha1 : .sha256
    }

    /// The headers for a request with `body` (send these exact bytes).
    public func headers(body: [UInt8]) throws(KeywardClientError) -> [ClientHeader] {
        do {
            return [ClientHeader("Account", account), ClientHeader("Sign", try AliKassa.sign(body: body, with: key, digest: digest))]
        } catch {
            throw KeywardClientError(.signingFailed, "The body could not be signed.")
        }
    }
}
