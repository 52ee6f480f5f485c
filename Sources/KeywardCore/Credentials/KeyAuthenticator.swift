import Foundation
import KeywardCrypto
import SQLKit
import Synchronization

/// Who a verified secret key speaks for.
public struct AuthenticatedKey: Sendable, Equatable {
    public let keyID: String
    public let merchantID: String
    public let mid: String
    public let mode: Mode
    /// `nil` for an unrestricted key.
    public let permissions: [String]?
    public let allowedIPs: [IPNetwork]
    /// The merchant's allowlist (Settings), which every one of its secret keys must also satisfy.
    public let merchantAllowedIPs: [IPNetwork]
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let replacedBy: String?
    /// How the caller proved who it is.
    public let scheme: AuthScheme
    /// The credential whose own rate limit this caller counts against: the key itself, or for a device
    /// session the JWK it was opened to (sessions come and go; the merchant limits the JWK).
    public let rateLimitSubject: String

    /// A principal; `scheme` defaults to a secret key.
    public init(
        keyID: String,
        merchantID: String,
        mid: String,
        mode: Mode,
        permissions: [String]?,
        allowedIPs: [IPNetwork],
        expiresAt: Date?,
        revokedAt: Date?,
        replacedBy: String?,
        scheme: AuthScheme = .secretKey,
        merchantAllowedIPs: [IPNetwork] = [],
        rateLimitSubject: String? = nil
    ) {
        self.rateLimitSubject = rateLimitSubject ?? keyID
        self.keyID = keyID
        self.merchantID = merchantID
        self.mid = mid
        self.mode = mode
        self.permissions = permissions
        self.allowedIPs = allowedIPs
        self.merchantAllowedIPs = merchantAllowedIPs
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.replacedBy = replacedBy
        self.scheme = scheme
    }

    /// Whether the key may use `scope`.
    public func allows(_ scope: String) -> Bool { permissions?.contains(scope) ?? true }
    /// Whether the key is unrestricted.
    public var isUnrestricted: Bool { permissions == nil }
}

/// How a request was authenticated.
public enum AuthScheme: String, Sendable, Equatable {
    /// `Authorization: Bearer <secret key>` (or the bare key).
    case secretKey = "secret_key"
    /// RFC 9421 HTTP Message Signature by a registered signing key.
    case httpSignature = "http_signature"
    /// A myPOS IPC form signed by a store's key index.
    case myPOS = "mypos_ipc"
    /// An AliKassa `Sign` header by a store's key.
    case aliKassa = "alikassa"
    /// An Alliance Bank technical session (`x-device_id` + `x-refresh_token`).
    case deviceSession = "device_session"
}

/// Verifies presented secret keys: shape, lookup by hash, revocation, expiry, IP allowlist.
///
/// Verified keys are cached by digest in a `RevisionedCache`: a credential change anywhere clears it,
/// and a lookup that raced with a change does not cache the stale row.
public final class KeyAuthenticator: Sendable {
    let store: KeywardStore
    let clock: KeywardClock
    let lastUsed: LastUsedRecorder
    private let cache: RevisionedCache<APIKeyDigest, AuthenticatedKey>

    public init(store: KeywardStore, changes: CredentialChanges, lastUsed: LastUsedRecorder, clock: KeywardClock = .system, cacheLimit: Int = 200_000)
    {
        self.store = store
        self.clock = clock
        self.lastUsed = lastUsed
        self.cache = RevisionedCache(limit: cacheLimit, invalidatedBy: changes)
    }

    /// Forgets every cached key; the next use of each is read from the database.
    public func invalidateAll() {
        cache.invalidateAll()
    }

    /// Verifies `presented` for a caller at `clientAddress` (4 or 16 bytes; `nil` when unknown, which
    /// fails any allowlist).
    public func authenticate(_ presented: String, clientAddress: @autoclosure () -> [UInt8]?) async throws(KeywardError) -> AuthenticatedKey {
        do {
            _ = try APIKeyFormat.validate(presented)
        } catch {
            throw Self.malformed(error)
        }
        let rawDigest = APIKeyFormat.rawDigest(of: presented)
        let found = try await KeywardError.unlessStorageFails(checking: "Credentials") {
            try await cache.value(for: rawDigest, load: { try await load(digest: rawDigest.hex) })
        }
        guard let key = found else {
            throw KeywardError(
                .unauthenticated,
                .invalidKey,
                "No active key matches. Check that you copied the whole key from this Keyward instance and are using it in the right mode (test or live)."
            )
        }
        let now = clock.now()
        if key.revokedAt != nil {
            throw KeywardError(.unauthenticated, .keyRevoked, "Key \(key.keyID) was revoked. Create or roll a key in the cabinet or management API.")
        }
        if let expiresAt = key.expiresAt, expiresAt <= now {
            let hint = key.replacedBy.map { " It was rolled; use its replacement \($0)." } ?? ""
            throw KeywardError(.unauthenticated, .keyExpired, "Key \(key.keyID) expired at \(ISO8601DateFormatter().string(from: expiresAt)).\(hint)")
        }
        if !key.allowedIPs.isEmpty || !key.merchantAllowedIPs.isEmpty { try key.admit(from: clientAddress()) }
        lastUsed.record(keyID: key.keyID, at: now)
        return key
    }

    private func load(digest: String) async throws -> AuthenticatedKey? {
        struct Row: Decodable {
            let id: String, merchant_id: String, mid: String, mode: String, secret_hash: String
            let permissions: String?, allowed_ips: String, expires_ms: Int64?, revoked_ms: Int64?, replaced_by: String?
            let merchant_allowed_ips: String?
        }
        let query = store.sql.raw(
            """
            SELECT k.id, k.merchant_id, m.mid, k.mode, k.secret_hash, k.permissions, k.allowed_ips,
                   k.expires_ms, k.revoked_ms, k.replaced_by, s.allowed_ips AS merchant_allowed_ips
            FROM secret_keys k JOIN merchants m ON m.id = k.merchant_id
            LEFT JOIN merchant_settings s ON s.merchant_id = k.merchant_id
            WHERE k.secret_hash = \(bind: digest)
            """
        )
        guard let row = try await query.first(decoding: Row.self),
            ConstantTime.equals(Array(row.secret_hash.utf8), Array(digest.utf8)),
            let mode = Mode(rawValue: row.mode)
        else { return nil }
        return AuthenticatedKey(
            keyID: row.id,
            merchantID: row.merchant_id,
            mid: row.mid,
            mode: mode,
            permissions: row.permissions.flatMap { JSONText.decode([String].self, $0) },
            allowedIPs: JSONText.decode([IPNetwork].self, row.allowed_ips) ?? [],
            expiresAt: row.expires_ms.map(Date.init(millis:)),
            revokedAt: row.revoked_ms.map(Date.init(millis:)),
            replacedBy: row.replaced_by,
            merchantAllowedIPs: row.merchant_allowed_ips.flatMap { JSONText.decode([IPNetwork].self, $0) } ?? []
        )
    }

    static func malformed(_ malformation: APIKeyFormat.Malformation) -> KeywardError {
        let reason: String =
            switch malformation {
            case .empty: "The key is empty."
            case .tooLong: "The value is far longer than a Keyward key."
            case .notASCII: "The key contains characters a Keyward key never has."
            case .unknownPrefix: "Keyward secret keys start with kw_test_ or kw_live_."
            case .wrongLength, .badCharacters: "The key has the wrong length or characters; it may be truncated."
            case .checksumMismatch: "The key's checksum does not match: it was mistyped or truncated."
            }
        return KeywardError(.unauthenticated, .invalidKey, reason)
    }

    static func describe(_ address: [UInt8]?) -> String {
        guard let address else { return "an unknown address" }
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        return IPNetwork.formatIPv6(address)
    }
}

extension IPNetwork {
    /// RFC 5952 text: lowercase hex, the longest run (two or more) of zero groups as `::`.
    public static func formatIPv6(_ bytes: [UInt8]) -> String {
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var best = (start: -1, length: 0)
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < groups.count && groups[end] == 0 { end += 1 }
            if end - index > best.length { best = (index, end - index) }
            index = end
        }
        let text = groups.map { String($0, radix: 16) }
        guard best.length >= 2 else { return text.joined(separator: ":") }
        let head = text[..<best.start].joined(separator: ":")
        let tail = text[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}
