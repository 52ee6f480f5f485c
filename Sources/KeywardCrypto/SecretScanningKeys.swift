import Crypto
import Foundation

/// The public keys secret scanners sign their leak reports with, in the shape GitHub publishes at
/// `https://api.github.com/meta/public_keys/secret_scanning`:
/// `{"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}`.
///
/// A report carries the identifier of the key that signed it and a base64 DER ECDSA P-256 SHA-256
/// signature over the raw body; both are checked here before anything reads the body.
public struct SecretScanningKeys: Sendable {
    /// One trusted key.
    public struct Entry: Sendable {
        /// The scanner's name for the key (`Github-Public-Key-Identifier`).
        public let identifier: String
        public let key: P256.Signing.PublicKey
        /// Whether the scanner signs new reports with it. Keys no longer current stay trusted while they
        /// are listed (reports in flight during a rotation are signed with the previous key).
        public let isCurrent: Bool
    }

    /// Why a key file cannot be used; says which entry.
    public struct FileError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// What checking a report's signature found.
    public enum Verification: Sendable, Equatable {
        case valid
        /// No listed key has this identifier.
        case unknownKey
        /// The signature is not base64 DER, or does not verify over these bytes with that key.
        case invalidSignature
    }

    /// Trusted keys by identifier.
    public let entries: [String: Entry]

    /// Parses the key file's JSON. Every entry must be a P-256 public key (PEM `PUBLIC KEY`, as GitHub
    /// publishes them); a file with no key at all is refused too, since it would refuse every report.
    public init(json: Data) throws(FileError) {
        struct File: Decodable {
            struct Key: Decodable {
                let key_identifier: String
                let key: String
                let is_current: Bool?
            }
            let public_keys: [Key]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: json)
        } catch {
            throw FileError(
                description: #"expected {"public_keys": [{"key_identifier": "…", "key": "-----BEGIN PUBLIC KEY-----…", "is_current": true}]}"#
            )
        }
        guard !file.public_keys.isEmpty else { throw FileError(description: "public_keys is empty") }
        var entries: [String: Entry] = [:]
        for (index, item) in file.public_keys.enumerated() {
            let identifier = item.key_identifier.trimmingCharacters(in: .whitespaces)
            guard !identifier.isEmpty, identifier.utf8.count <= 256 else {
                throw FileError(description: "public_keys[\(index)].key_identifier must be 1 to 256 characters")
            }
            guard entries[identifier] == nil else {
                throw FileError(description: "public_keys[\(index)]: key_identifier \(identifier.prefix(80)) is listed twice")
            }
            let key: P256.Signing.PublicKey
            do {
                key = try P256.Signing.PublicKey(pemRepresentation: item.key)
            } catch {
                throw FileError(description: "public_keys[\(index)].key is not an EC P-256 public key in PEM (-----BEGIN PUBLIC KEY-----)")
            }
            entries[identifier] = Entry(identifier: identifier, key: key, isCurrent: item.is_current ?? true)
        }
        self.entries = entries
    }

    /// Whether `identifier` names a trusted key (checked before the body is read).
    public func knows(_ identifier: String) -> Bool { entries[identifier] != nil }

    /// Checks `signature` (base64 of a DER ECDSA signature) over exactly `body` with the key `identifier` names.
    public func verify(body: some DataProtocol, identifier: String, signature: String) -> Verification {
        guard let entry = entries[identifier] else { return .unknownKey }
        guard signature.utf8.count <= 256, let der = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)),
            let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der)
        else { return .invalidSignature }
        return entry.key.isValidSignature(parsed, for: body) ? .valid : .invalidSignature
    }
}
