import Crypto
import CryptoExtras
import Foundation

/// JWE key management algorithms (RFC 7518 §4.6): ECDH-ES, direct or with AES key wrap.
public enum JWEAlgorithm: String, Sendable, CaseIterable {
    case ecdhES = "ECDH-ES"
    case ecdhESA128KW = "ECDH-ES+A128KW"
    case ecdhESA192KW = "ECDH-ES+A192KW"
    case ecdhESA256KW = "ECDH-ES+A256KW"

    /// Bits of the key-encryption key, or `nil` for direct agreement.
    var wrapKeyBits: Int? {
        switch self {
        case .ecdhES: nil
        case .ecdhESA128KW: 128
        case .ecdhESA192KW: 192
        case .ecdhESA256KW: 256
        }
    }
}

/// JWE content encryption (RFC 7518 §5).
public enum JWEEncryption: String, Sendable, CaseIterable {
    case a128GCM = "A128GCM"
    case a192GCM = "A192GCM"
    case a256GCM = "A256GCM"
    case a128CBCHS256 = "A128CBC-HS256"

    /// Bits of the content-encryption key.
    var keyBits: Int {
        switch self {
        case .a128GCM: 128
        case .a192GCM: 192
        case .a256GCM, .a128CBCHS256: 256
        }
    }
}

/// A decrypted JWE: the plaintext and the protected header's parameters.
public struct DecryptedJWE: Sendable {
    public let plaintext: [UInt8]
    public let algorithm: JWEAlgorithm
    public let encryption: JWEEncryption
    public let kid: String?
}

/// JWE compact serialization with ECDH-ES key agreement (RFC 7516, RFC 7518 §4.6).
///
/// Refused on decryption: any other `alg` (including `none`), an `enc` not allowed, `zip`, `crit`,
/// duplicate header members, an ephemeral key not on the recipient's curve (swift-crypto validates
/// points), wrong part count or base64url, wrong lengths, and tokens larger than `maximumBytes`.
public enum JWE {
    /// The largest compact JWE decrypted.
    public static let maximumBytes = 1024 * 1024

    /// Encrypts `plaintext` to `recipient` (an EC JWK, public or private).
    public static func encrypt(
        _ plaintext: [UInt8],
        to recipient: JWK,
        algorithm: JWEAlgorithm = .ecdhESA256KW,
        encryption: JWEEncryption = .a256GCM,
        apu: [UInt8]? = nil,
        apv: [UInt8]? = nil
    ) throws(JOSEError) -> String {
        let recipientKey: ECPublicKey
        switch recipient.material {
        case .ecPublic(let key): recipientKey = key
        case .ecPrivate(let key): recipientKey = key.publicKey
        case .rsaPublic: throw JOSEError(.unsupportedAlgorithm, "ECDH-ES needs an EC key; this JWK is RSA.")
        }
        let ephemeral = ECPrivateKey.generate(recipientKey.curve)
        let z = try ephemeral.sharedSecret(with: recipientKey)
        var header: [OrderedJSON.Member] = [.init("alg", .string(algorithm.rawValue)), .init("enc", .string(encryption.rawValue))]
        if let kid = recipient.kid { header.append(.init("kid", .string(kid))) }
        let epk = JWK.ecMembers(ephemeral.publicKey).map { OrderedJSON.Member($0.0, .string($0.1)) }
        header.append(.init("epk", .object(epk)))
        if let apu { header.append(.init("apu", .string(Base64URL.encode(apu)))) }
        if let apv { header.append(.init("apv", .string(Base64URL.encode(apv)))) }
        let protected = Base64URL.encode(Array(OrderedJSON.object(header).serialized.utf8))

        let contentKey: [UInt8]
        let encryptedKey: [UInt8]
        do {
            if let wrapBits = algorithm.wrapKeyBits {
                let kek = ConcatKDF.derive(z: z, bits: wrapBits, algorithmID: algorithm.rawValue, apu: apu ?? [], apv: apv ?? [])
                contentKey = randomBytes(encryption.keyBits / 8)
                encryptedKey = Array(try AES.KeyWrap.wrap(SymmetricKey(data: contentKey), using: SymmetricKey(data: kek)))
            } else {
                contentKey = ConcatKDF.derive(z: z, bits: encryption.keyBits, algorithmID: encryption.rawValue, apu: apu ?? [], apv: apv ?? [])
                encryptedKey = []
            }
            let sealed = try ContentCipher.seal(plaintext, key: contentKey, encryption: encryption, aad: Array(protected.utf8))
            return [
                protected, Base64URL.encode(encryptedKey), Base64URL.encode(sealed.iv), Base64URL.encode(sealed.ciphertext),
                Base64URL.encode(sealed.tag),
            ]
            .joined(separator: ".")
        } catch {
            throw JOSEError(.encryptionFailed, "The content could not be encrypted.")
        }
    }

    /// Decrypts a compact JWE with `recipient` (a private EC JWK), accepting only the listed algorithms.
    public static func decrypt(
        _ compact: String,
        with recipient: JWK,
        algorithms: Set<JWEAlgorithm> = Set(JWEAlgorithm.allCases),
        encryptions: Set<JWEEncryption> = Set(JWEEncryption.allCases)
    ) throws(JOSEError) -> DecryptedJWE {
        guard compact.utf8.count <= maximumBytes else { throw JOSEError(.jweTooLarge, "A JWE is at most \(maximumBytes) bytes here.") }
        guard case .ecPrivate(let privateKey) = recipient.material else {
            throw JOSEError(.invalidJWK, "Decryption needs the recipient's private EC key.")
        }
        let parts = compact.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5 else {
            throw JOSEError(
                .invalidJWE,
                "A compact JWE has 5 dot-separated parts; this has \(parts.count)\(parts.count == 3 ? " (is it a JWS?)" : "")."
            )
        }
        func decode(_ part: Substring, _ name: String) throws(JOSEError) -> [UInt8] {
            guard let data = Base64URL.decode(String(part)) else { throw JOSEError(.invalidJWE, "The \(name) is not base64url.") }
            return Array(data)
        }
        let protectedText = parts[0]
        let header: OrderedJSON
        do { header = try OrderedJSON.parse(try decode(protectedText, "protected header")) } catch let error as JOSEError {
            throw error
        } catch { throw JOSEError(.invalidJWE, "The protected header is not JSON.") }
        guard case .object(let members) = header else { throw JOSEError(.invalidJWE, "The protected header is not a JSON object.") }
        var seen = Set<String>()
        for member in members where !seen.insert(member.name).inserted {
            throw JOSEError(.invalidJWE, "Header parameter '\(member.name.prefix(32))' appears twice.")
        }
        if header[member: "zip"] != nil { throw JOSEError(.unsupportedAlgorithm, "Compressed JWEs ('zip') are refused.") }
        if header[member: "crit"] != nil { throw JOSEError(.unsupportedAlgorithm, "No critical header extensions ('crit') are supported.") }
        guard let algName = header[member: "alg"]?.stringValue, let algorithm = JWEAlgorithm(rawValue: algName), algorithms.contains(algorithm) else {
            let name = header[member: "alg"]?.stringValue ?? "(none)"
            throw JOSEError(
                .unsupportedAlgorithm,
                "Algorithm '\(name.prefix(32))' is not accepted here; use \(algorithms.map(\.rawValue).sorted().joined(separator: ", "))."
            )
        }
        guard let encName = header[member: "enc"]?.stringValue, let encryption = JWEEncryption(rawValue: encName), encryptions.contains(encryption)
        else {
            let name = header[member: "enc"]?.stringValue ?? "(none)"
            throw JOSEError(
                .unsupportedAlgorithm,
                "Content encryption '\(name.prefix(32))' is not accepted here; use \(encryptions.map(\.rawValue).sorted().joined(separator: ", "))."
            )
        }
        guard let epkNode = header[member: "epk"] else { throw JOSEError(.invalidJWE, "ECDH-ES needs the ephemeral public key 'epk' in the header.") }
        let epk: JWK
        do { epk = try JWK.parse(epkNode, allowPrivate: false) } catch {
            throw JOSEError(.invalidJWE, "The ephemeral key 'epk' is not a valid public EC key: \(error.message)")
        }
        guard case .ecPublic(let ephemeral) = epk.material, ephemeral.curve == privateKey.publicKey.curve else {
            throw JOSEError(.invalidJWE, "The ephemeral key is not on the recipient's curve (\(privateKey.publicKey.curve.rawValue)).")
        }
        func optionalBytes(_ name: String) throws(JOSEError) -> [UInt8] {
            guard let node = header[member: name] else { return [] }
            guard let text = node.stringValue, let data = Base64URL.decode(text) else { throw JOSEError(.invalidJWE, "'\(name)' is not base64url.") }
            return Array(data)
        }
        let apu = try optionalBytes("apu")
        let apv = try optionalBytes("apv")
        let encryptedKey = try decode(parts[1], "encrypted key")
        let iv = try decode(parts[2], "initialization vector")
        let ciphertext = try decode(parts[3], "ciphertext")
        let tag = try decode(parts[4], "authentication tag")

        let z = try privateKey.sharedSecret(with: ephemeral)
        let contentKey: [UInt8]
        if let wrapBits = algorithm.wrapKeyBits {
            guard encryptedKey.count == encryption.keyBits / 8 + 8 else {
                throw JOSEError(.invalidJWE, "The encrypted key has the wrong length for \(encryption.rawValue).")
            }
            let kek = ConcatKDF.derive(z: z, bits: wrapBits, algorithmID: algorithm.rawValue, apu: apu, apv: apv)
            do {
                contentKey = try AES.KeyWrap.unwrap(encryptedKey, using: SymmetricKey(data: kek)).withUnsafeBytes { Array($0) }
            } catch {
                throw JOSEError(.decryptionFailed, "The content key does not unwrap: the JWE was encrypted to another key, or altered.")
            }
        } else {
            guard encryptedKey.isEmpty else { throw JOSEError(.invalidJWE, "With direct ECDH-ES the encrypted key part must be empty.") }
            contentKey = ConcatKDF.derive(z: z, bits: encryption.keyBits, algorithmID: encryption.rawValue, apu: apu, apv: apv)
        }
        let plaintext = try ContentCipher.open(
            ciphertext: ciphertext,
            iv: iv,
            tag: tag,
            key: contentKey,
            encryption: encryption,
            aad: Array(protectedText.utf8)
        )
        return DecryptedJWE(plaintext: plaintext, algorithm: algorithm, encryption: encryption, kid: header[member: "kid"]?.stringValue)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256, as RFC 7518 §4.6.2 parameterizes it.
enum ConcatKDF {
    static func derive(z: [UInt8], bits: Int, algorithmID: String, apu: [UInt8], apv: [UInt8]) -> [UInt8] {
        func lengthPrefixed(_ bytes: [UInt8]) -> [UInt8] { bigEndian32(UInt32(bytes.count)) + bytes }
        let otherInfo = lengthPrefixed(Array(algorithmID.utf8)) + lengthPrefixed(apu) + lengthPrefixed(apv) + bigEndian32(UInt32(bits))
        var output = [UInt8]()
        var counter: UInt32 = 1
        while output.count * 8 < bits {
            output += Array(SHA256.hash(data: bigEndian32(counter) + z + otherInfo))
            counter += 1
        }
        return Array(output.prefix(bits / 8))
    }

    static func bigEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}

/// AES-GCM and AES-CBC-HMAC-SHA2 content encryption (RFC 7518 §5.2, §5.3).
enum ContentCipher {
    struct Sealed {
        let iv: [UInt8], ciphertext: [UInt8], tag: [UInt8]
    }

    static func seal(_ plaintext: [UInt8], key: [UInt8], encryption: JWEEncryption, aad: [UInt8]) throws -> Sealed {
        switch encryption {
        case .a128GCM, .a192GCM, .a256GCM:
            let nonce = AES.GCM.Nonce()
            let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: key), nonce: nonce, authenticating: aad)
            return Sealed(iv: Array(nonce), ciphertext: Array(box.ciphertext), tag: Array(box.tag))
        case .a128CBCHS256:
            let iv = AES._CBC.IV()
            let ciphertext = Array(try AES._CBC.encrypt(plaintext, using: SymmetricKey(data: key[16...]), iv: iv))
            return Sealed(
                iv: Array(iv),
                ciphertext: ciphertext,
                tag: cbcTag(macKey: Array(key[..<16]), aad: aad, iv: Array(iv), ciphertext: ciphertext)
            )
        }
    }

    static func open(
        ciphertext: [UInt8],
        iv: [UInt8],
        tag: [UInt8],
        key: [UInt8],
        encryption: JWEEncryption,
        aad: [UInt8]
    ) throws(JOSEError) -> [UInt8] {
        let failed = JOSEError(.decryptionFailed, "The JWE does not decrypt: it was encrypted to another key, or a part was altered.")
        switch encryption {
        case .a128GCM, .a192GCM, .a256GCM:
            guard iv.count == 12, tag.count == 16 else { throw JOSEError(.invalidJWE, "AES-GCM needs a 96-bit IV and a 128-bit tag.") }
            do {
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag)
                return Array(try AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: aad))
            } catch { throw failed }
        case .a128CBCHS256:
            guard iv.count == 16, tag.count == 16 else { throw JOSEError(.invalidJWE, "A128CBC-HS256 needs a 128-bit IV and a 128-bit tag.") }
            // Check the tag (in constant time) before touching the padding: no padding oracle.
            guard ConstantTime.equals(cbcTag(macKey: Array(key[..<16]), aad: aad, iv: iv, ciphertext: ciphertext), tag) else { throw failed }
            do {
                return Array(try AES._CBC.decrypt(ciphertext, using: SymmetricKey(data: key[16...]), iv: AES._CBC.IV(ivBytes: iv)))
            } catch { throw failed }
        }
    }

    static func cbcTag(macKey: [UInt8], aad: [UInt8], iv: [UInt8], ciphertext: [UInt8]) -> [UInt8] {
        let aadBits = UInt64(aad.count) * 8
        let al = (0..<8).map { UInt8(truncatingIfNeeded: aadBits >> (56 - 8 * UInt64($0))) }
        let mac = HMAC<SHA256>.authenticationCode(for: aad + iv + ciphertext + al, using: SymmetricKey(data: macKey))
        return Array(Array(mac).prefix(16))
    }
}
