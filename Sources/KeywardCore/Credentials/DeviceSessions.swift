import Crypto
import Foundation
import KeywardCrypto
import SQLKit
import Synchronization

/// A technical session (Alliance Bank `authorize_virtual_device`).
public struct DeviceSessionInfo: Sendable, Equatable {
    /// The `deviceId` the merchant sends as `x-device_id`.
    public let id: String
    public let merchantID: String
    public let mode: Mode
    /// The merchant JWK the session's secrets were encrypted to.
    public let jweKeyID: String
    public let expiresAt: Date
    public let createdAt: Date
    public let revokedAt: Date?
}

struct DeviceSessionRow: RevocableRow {
    static let table = "device_sessions"

    let id: String
    let merchant_id: String
    let mode: String
    let jwe_key_id: String
    let refresh_hash: String
    let auth_hash: String
    let sealed_server_key: String
    let expires_ms: Int64
    let created_ms: Int64
    var revoked_ms: Int64?
    /// When the session authenticated its first call; nil = never used.
    var first_used_ms: Int64?

    var info: DeviceSessionInfo {
        DeviceSessionInfo(
            id: id,
            merchantID: merchant_id,
            mode: Mode(rawValue: mode) ?? .test,
            jweKeyID: jwe_key_id,
            expiresAt: Date(millis: expires_ms),
            createdAt: Date(millis: created_ms),
            revokedAt: revoked_ms.map(Date.init(millis:))
        )
    }

    static func sealContext(id: String) -> String { "device_session:\(id)" }
}

/// A session that authenticated a call: who it speaks for, and the keys to decrypt its bodies
/// (`serverKey`, the session key the merchant encrypts to) and to encrypt answers (`merchantKey`).
public struct AuthenticatedSession: Sendable {
    public let principal: AuthenticatedKey
    public let serverKey: JWK
    public let merchantKey: JWK
    public let algorithm: JWEAlgorithm
}

/// Issues, authenticates, lists and revokes technical sessions. Session secrets are never stored in
/// clear: the refresh and auth tokens as SHA-256, the session's server key sealed.
public final class DeviceSessionService: Sendable {
    private struct Cached: Sendable {
        let row: DeviceSessionRow
        let mid: String
        let session: (serverKey: JWK, merchantKey: JWK, algorithm: JWEAlgorithm)
        /// The limits of the JWK the session was opened to, and the merchant's allowlist.
        let limits: CredentialLimits
        let merchantAllowedIPs: [IPNetwork]
    }

    private struct Recipient: Sendable {
        let merchantID: String
        let mode: Mode
        let keyID: String
        let jwk: JWK
        let algorithm: JWEAlgorithm
        let limits: CredentialLimits
    }

    let store: KeywardStore
    let keyring: MasterKeyring
    let changes: CredentialChanges
    let clock: KeywardClock
    let jweKeys: JWEKeyService
    let limits: DeviceSessionLimits
    /// How long a session lasts (no refresh: a new session is a new authorize call).
    public static let lifetime: TimeInterval = 24 * 3600
    /// Sessions by device id, until any credential change.
    private let cache: RevisionedCache<String, Cached>
    /// Service code → the merchant's current JWK, parsed (importing a P-384 point costs a scalar multiplication).
    private let recipients: RevisionedCache<String, Recipient>

    public init(
        store: KeywardStore,
        keyring: MasterKeyring,
        changes: CredentialChanges,
        jweKeys: JWEKeyService,
        clock: KeywardClock = .system,
        limits: DeviceSessionLimits = DeviceSessionLimits()
    ) {
        self.store = store
        self.limits = limits
        self.keyring = keyring
        self.changes = changes
        self.jweKeys = jweKeys
        self.clock = clock
        self.cache = RevisionedCache(limit: 100_000, invalidatedBy: changes)
        self.recipients = RevisionedCache(limit: 10_000, invalidatedBy: changes)
    }

    /// Opens a session for `serviceCode`: a fresh P-384 server key, `deviceId`, `refreshToken`,
    /// `authToken`, 24 h; answers the compact JWE of the plaintext, encrypted to the merchant's newest JWK.
    /// Sessions are opened only from where that JWK allows, and only while it has not expired.
    public func authorize(serviceCode: String, clientAddress: [UInt8]?) async throws -> (info: DeviceSessionInfo, jwe: String) {
        let recipient = try await recipient(serviceCode: serviceCode)
        if let expiresAt = recipient.limits.expiresAt, expiresAt <= clock.now() {
            throw KeywardError(.conflict, .noJWKRegistered, "The merchant's JWK for this mode expired; register a new one before opening sessions.")
        }
        if !recipient.limits.allowedIPs.isEmpty,
            !(clientAddress.map { address in recipient.limits.allowedIPs.contains { $0.contains(address) } } ?? false)
        {
            throw KeywardError(
                .forbidden,
                .ipNotAllowed,
                "Sessions for this serviceCode may be opened only from the JWK's IP allowlist; this call came from \(KeyAuthenticator.describe(clientAddress))."
            )
        }
        let owner = (merchantID: recipient.merchantID, mode: recipient.mode)
        try await refuseOverCap(merchantID: owner.merchantID, mode: owner.mode)
        let merchantKey = recipient.jwk
        let algorithm = recipient.algorithm
        let serverKey = JWK(material: .ecPrivate(.generate(.p384)), use: "enc", alg: algorithm.rawValue)
        let id = UUID().uuidString.lowercased()
        let refreshToken = Self.token()
        let authToken = Self.token()
        let now = clock.now()
        let expires = now.addingTimeInterval(Self.lifetime)
        let row = DeviceSessionRow(
            id: id,
            merchant_id: owner.merchantID,
            mode: owner.mode.rawValue,
            jwe_key_id: recipient.keyID,
            refresh_hash: Self.hash(refreshToken),
            auth_hash: Self.hash(authToken),
            sealed_server_key: try keyring.seal(string: serverKey.json(includingPrivate: true), context: DeviceSessionRow.sealContext(id: id)),
            expires_ms: expires.millis,
            created_ms: now.millis,
            revoked_ms: nil,
            first_used_ms: nil
        )
        // A new session invalidates no cache entry, so it is a plain insert, not a credential change.
        try await store.sql.insert(into: "device_sessions").model(row).run()
        let serverPublic = try OrderedJSON.parse(Array(serverKey.publicJWK.json().utf8))
        let plaintext = OrderedJSON.object([
            .init("refreshToken", .string(refreshToken)), .init("authToken", .string(authToken)), .init("deviceId", .string(id)),
            .init("serverPublic", serverPublic), .init("tokenExpirationDateTime", .string(Self.allianceTimestamp(expires))),
        ])
        let jwe = try JWE.encrypt(Array(plaintext.serialized.utf8), to: merchantKey, algorithm: algorithm, encryption: .a256GCM)
        return (row.info, jwe)
    }

    /// The merchant behind `serviceCode` and the JWK new sessions are encrypted to, cached until any credential change.
    private func recipient(serviceCode: String) async throws -> Recipient {
        let normalized = serviceCode.lowercased()
        let (cached, revision) = recipients.lookup(normalized)
        if let cached { return cached }
        guard let owner = try await jweKeys.owner(ofServiceCode: serviceCode) else {
            throw KeywardError(
                .unauthenticated,
                .bServiceCodeNotFound,
                "No merchant has this serviceCode; copy it from Keyward (one per merchant and mode)."
            )
        }
        guard let info = try await jweKeys.current(merchantID: owner.merchantID, mode: owner.mode) else {
            throw KeywardError(.conflict, .noJWKRegistered, "Register a P-384 public JWK for this mode before opening sessions.")
        }
        let recipient = Recipient(
            merchantID: owner.merchantID,
            mode: owner.mode,
            keyID: info.id,
            jwk: try JWK.parse(info.publicJWK),
            algorithm: JWEAlgorithm(rawValue: info.algorithm) ?? .ecdhESA256KW,
            limits: info.limits
        )
        recipients.store(recipient, for: normalized, readAt: revision)
        return recipient
    }

    /// Authenticates `x-device_id` + `x-refresh_token`. Unknown device, wrong token and revoked
    /// sessions all answer `b_session_doesnt_exist` (no oracle); an expired one `b_expired_token`.
    /// The session's principal carries its JWK's limits and must come from where they (and the merchant) allow.
    public func authenticate(deviceID: String, refreshToken: String, clientAddress: [UInt8]?) async throws(KeywardError) -> AuthenticatedSession {
        let missing = KeywardError(.unauthenticated, .bSessionDoesntExist, "No such session. Open one with authorize_virtual_device.")
        guard UUID(uuidString: deviceID) != nil, (16...256).contains(refreshToken.utf8.count) else { throw missing }
        let key = deviceID.lowercased()
        let found = try await KeywardError.unlessStorageFails(checking: "Sessions") {
            try await cache.value(for: key, load: { try await load(id: key) })
        }
        guard let entry = found else { throw missing }
        guard ConstantTime.equals(Array(Self.hash(refreshToken).utf8), Array(entry.row.refresh_hash.utf8)), entry.row.revoked_ms == nil else {
            throw missing
        }
        guard entry.row.expires_ms > clock.now().millis else {
            throw KeywardError(.unauthenticated, .bExpiredToken, "The session expired; open a new one with authorize_virtual_device.")
        }
        if let jwkExpiry = entry.limits.expiresAt, jwkExpiry <= clock.now() {
            throw KeywardError(
                .unauthenticated,
                .bExpiredToken,
                "The JWK this session was opened to expired; register a new one and open a new session."
            )
        }
        let expiry = min(Date(millis: entry.row.expires_ms), entry.limits.expiresAt ?? .distantFuture)
        let principal = AuthenticatedKey(
            keyID: entry.row.id,
            merchantID: entry.row.merchant_id,
            mid: entry.mid,
            mode: Mode(rawValue: entry.row.mode) ?? .test,
            permissions: entry.limits.permissions,
            allowedIPs: entry.limits.allowedIPs,
            expiresAt: expiry,
            revokedAt: nil,
            replacedBy: nil,
            scheme: .deviceSession,
            merchantAllowedIPs: entry.merchantAllowedIPs,
            rateLimitSubject: entry.row.jwe_key_id
        )
        try principal.admit(from: clientAddress)
        if entry.row.first_used_ms == nil { await markUsed(key) }
        return AuthenticatedSession(
            principal: principal,
            serverKey: entry.session.serverKey,
            merchantKey: entry.session.merchantKey,
            algorithm: entry.session.algorithm
        )
    }

    private func load(id: String) async throws -> Cached? {
        guard
            let row = try await store.sql.select().column("*").from("device_sessions").where("id", .equal, id).first(decoding: DeviceSessionRow.self)
        else { return nil }
        struct Owner: Decodable {
            let mid: String, public_jwk: String, algorithm: String
            let permissions: String?, allowed_ips: String?, expires_ms: Int64?, merchant_allowed_ips: String?
        }
        guard
            let owner = try await store.sql.raw(
                """
                SELECT m.mid, k.public_jwk, k.algorithm, k.permissions, k.allowed_ips, k.expires_ms, s.allowed_ips AS merchant_allowed_ips
                FROM merchants m JOIN jwe_keys k ON k.merchant_id = m.id LEFT JOIN merchant_settings s ON s.merchant_id = m.id
                WHERE m.id = \(bind: row.merchant_id) AND k.id = \(bind: row.jwe_key_id)
                """
            ).first(decoding: Owner.self)
        else { return nil }
        let serverKey = try JWK.parse(
            try keyring.openString(row.sealed_server_key, context: DeviceSessionRow.sealContext(id: row.id)),
            allowPrivate: true
        )
        let merchantKey = try JWK.parse(owner.public_jwk)
        return Cached(
            row: row,
            mid: owner.mid,
            session: (serverKey, merchantKey, JWEAlgorithm(rawValue: owner.algorithm) ?? .ecdhESA256KW),
            limits: CredentialLimits(storedPermissions: owner.permissions, storedAllowedIPs: owner.allowed_ips, expiresMillis: owner.expires_ms),
            merchantAllowedIPs: owner.merchant_allowed_ips.flatMap { JSONText.decode([IPNetwork].self, $0) } ?? []
        )
    }

    /// Drops one session from this instance's cache.
    func forget(_ id: String) {
        cache.remove(id)
    }

    /// The merchant's sessions in `mode`, newest first, `limit` at a time after the session `startingAfter`.
    public func list(merchantID: String, mode: Mode, limit: Int = 100, startingAfter: String? = nil) async throws -> [DeviceSessionInfo] {
        try await MerchantPage(limit: limit, startingAfter: startingAfter)
            .rows(DeviceSessionRow.self, of: DeviceSessionRow.table, noun: "session", in: store.sql, merchantID: merchantID, mode: mode) {
                UUID(uuidString: $0) != nil
            }
            .map(\.info)
    }

    /// Ends a session at once, on every instance.
    public func revoke(merchantID: String, mode: Mode, id: String) async throws -> DeviceSessionInfo {
        guard UUID(uuidString: id) != nil,
            let row = try await store.sql.select().column("*").from("device_sessions").where("id", .equal, id.lowercased())
                .where("merchant_id", .equal, merchantID).where("mode", .equal, mode.rawValue).first(decoding: DeviceSessionRow.self)
        else { throw KeywardError.notFound("session", id: id) }
        return try await CredentialLifecycle(store: store, changes: changes, clock: clock).revoke(row).info
    }

    /// 256 random bits, base64url.
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    static func hash(_ token: String) -> String { Hex.encode(SHA256.hash(data: Array(token.utf8))) }

    /// `yyyy-MM-dd HH:mm:ss.SSSS +0000`, the Alliance format, in UTC.
    static func allianceTimestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        let fraction = Int((seconds - seconds.rounded(.down)) * 10_000)
        func pad(_ value: Int32, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(fraction), 4)) +0000"
    }
}
