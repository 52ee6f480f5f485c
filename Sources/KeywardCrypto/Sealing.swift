import Crypto
import Foundation
import Synchronization

/// A 256-bit master key and its public identifier.
public struct MasterKey: Sendable {
    /// First 8 bytes of SHA-256 of the key, hex. Written in every envelope so the right key is found
    /// after a rotation; it reveals nothing usable about the key.
    public let id: String
    let key: SymmetricKey

    /// Wraps 32 raw bytes.
    public init(bytes: [UInt8]) throws(SealingError) {
        guard bytes.count == 32 else { throw SealingError(.invalidMasterKey) }
        self.key = SymmetricKey(data: bytes)
        self.id = Hex.encode(SHA256.hash(data: bytes).prefix(8))
    }

    /// 32 fresh random bytes.
    public static func generate() -> MasterKey {
        // A 32-byte SymmetricKey always satisfies the initializer.
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return try! MasterKey(bytes: bytes)  // swiftlint:disable:this force_try
    }

    /// The raw bytes, for writing the key file.
    public var rawBytes: [UInt8] { key.withUnsafeBytes { Array($0) } }
}

/// Failure to seal or open a secret. Carries a stable code and never any key material.
public struct SealingError: Error, Sendable, CustomStringConvertible {
    /// Stable machine codes.
    public enum Code: String, Sendable {
        case invalidMasterKey = "invalid_master_key"
        case malformedEnvelope = "malformed_envelope"
        case unknownMasterKey = "unknown_master_key"
        case authenticationFailed = "sealed_secret_authentication_failed"
    }
    /// What went wrong.
    public let code: Code
    /// The master key id named by the envelope, when relevant.
    public let keyID: String?

    init(_ code: Code, keyID: String? = nil) {
        self.code = code
        self.keyID = keyID
    }

    public var description: String {
        "\(code.rawValue)" + (keyID.map { " (master key \($0))" } ?? "")
    }
}

/// The set of master keys a process knows: one primary that seals, any number that can still open.
///
/// Envelope: `kw1.<master key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, AES-256-GCM. The caller's
/// `context` (e.g. `payment_key:<uuid>`) is bound as additional authenticated data, so a sealed value
/// copied into another row or column does not open.
///
/// Copies share one live state: every service built with this keyring sees a key adopted later
/// (`adopt(_:primary:)`, after a rotation announced through the database) without a restart.
public struct MasterKeyring: Sendable {
    private struct State: Sendable {
        var primary: MasterKey
        var byID: [String: MasterKey]
    }
    /// Reference shared by every copy; the Mutex makes concurrent reads and an adoption safe.
    private final class Shared: Sendable {
        let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
    }
    private let shared: Shared

    /// The key new secrets are sealed with.
    public var primary: MasterKey { shared.state.withLock { $0.primary } }

    /// A keyring sealing with `primary` and opening with `primary` and `others`.
    public init(primary: MasterKey, others: [MasterKey] = []) {
        var byID = [primary.id: primary]
        for key in others { byID[key.id] = key }
        self.shared = Shared(State(primary: primary, byID: byID))
    }

    /// Identifiers of every key that can open.
    public var keyIDs: [String] { shared.state.withLock { $0.byID.keys.sorted() } }

    /// Whether a key with this id can open.
    public func knows(_ keyID: String) -> Bool { shared.state.withLock { $0.byID[keyID] != nil } }

    /// Adds `keys` for opening and, when `primary` names one of the known keys, seals with it from now
    /// on. Keys are never removed while the process runs: an envelope sealed under any of them still opens.
    public func adopt(_ keys: [MasterKey], primary: String? = nil) {
        shared.state.withLock { state in
            for key in keys { state.byID[key.id] = key }
            if let primary, let key = state.byID[primary] { state.primary = key }
        }
    }

    private func key(_ keyID: String) -> MasterKey? { shared.state.withLock { $0.byID[keyID] } }

    /// A key for `purpose` derived (HKDF-SHA256) from the master key `keyID`, or from the primary when
    /// nil; nil for a key this ring does not hold. Lets a MAC be checked after a rotation.
    public func derivedKey(purpose: String, keyID: String? = nil) -> (keyID: String, key: SymmetricKey)? {
        let master: MasterKey
        if let keyID {
            guard let found = key(keyID) else { return nil }
            master = found
        } else {
            master = primary
        }
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: master.key, info: Array("keyward:\(purpose)".utf8), outputByteCount: 32)
        return (master.id, derived)
    }

    /// Seals `plaintext` under the primary key.
    public func seal(_ plaintext: [UInt8], context: String) throws -> String {
        let sealer = primary  // one read: the id written is the key that sealed, even during an adoption
        let box = try AES.GCM.seal(plaintext, using: sealer.key, authenticating: Array(context.utf8))
        guard let combined = box.combined else { throw SealingError(.malformedEnvelope) }
        return "kw1.\(sealer.id).\(Base64URL.encode(combined))"
    }

    /// Seals a UTF-8 string.
    public func seal(string: String, context: String) throws -> String {
        try seal(Array(string.utf8), context: context)
    }

    /// Opens an envelope made by any key of this ring with the same `context`.
    public func open(_ envelope: String, context: String) throws(SealingError) -> [UInt8] {
        let parts = envelope.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "kw1", let combined = Base64URL.decode(String(parts[2])) else {
            throw SealingError(.malformedEnvelope)
        }
        let keyID = String(parts[1])
        guard let key = key(keyID) else { throw SealingError(.unknownMasterKey, keyID: keyID) }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return Array(try AES.GCM.open(box, using: key.key, authenticating: Array(context.utf8)))
        } catch {
            throw SealingError(.authenticationFailed, keyID: keyID)
        }
    }

    /// Opens an envelope holding a UTF-8 string.
    public func openString(_ envelope: String, context: String) throws(SealingError) -> String {
        String(decoding: try open(envelope, context: context), as: UTF8.self)
    }

    /// The master key id an envelope names, without opening it.
    public static func keyID(of envelope: String) -> String? {
        let parts = envelope.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "kw1" ? String(parts[1]) : nil
    }
}

/// Unpadded base64url (RFC 4648 §5).
public enum Base64URL {
    /// Encodes without padding.
    public static func encode<D: DataProtocol>(_ data: D) -> String {
        Data(data).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes with or without padding; `nil` on any other character.
    public static func decode(_ string: String) -> Data? {
        var base64 = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}

extension Base64URL {
    /// Whether `byte` is one of base64url's 64 characters.
    public static func isAlphabet(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2d || byte == 0x5f
    }
}
