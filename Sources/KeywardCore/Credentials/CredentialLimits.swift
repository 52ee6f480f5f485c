import Foundation
import KeywardCrypto

/// What a credential may do, from where and until when. Every credential records its limits when it is
/// made (secret keys, signing keys, store key indexes, JWKs and the sessions they open), and the gateway
/// enforces them on every scheme.
public struct CredentialLimits: Sendable, Equatable {
    /// Permission names (Keyward's and upstream scopes); `nil` = unrestricted.
    public var permissions: [String]?
    /// Networks the credential may be used from; empty = anywhere (the merchant's allowlist still applies).
    public var allowedIPs: [IPNetwork]
    /// When it stops working, if ever.
    public var expiresAt: Date?

    public init(permissions: [String]? = nil, allowedIPs: [IPNetwork] = [], expiresAt: Date? = nil) {
        self.permissions = permissions
        self.allowedIPs = allowedIPs
        self.expiresAt = expiresAt
    }

    /// No limit at all.
    public static let unrestricted = CredentialLimits()

    /// Whether every address these limits admit is admitted by `wider` (an empty list admits every address).
    func allowlist(isWithin wider: [IPNetwork]) -> Bool {
        guard !wider.isEmpty else { return true }
        guard !allowedIPs.isEmpty else { return false }
        return allowedIPs.allSatisfy { network in wider.contains { $0.covers(network) } }
    }
}

/// Limits asked for when a credential is made: raw API or form values, checked by `Minter.limits(for:managing:now:)`.
public struct RequestedLimits: Sendable {
    public var permissions: [String]?
    public var allowedIPs: [String]?
    public var expiresAt: Date?

    public init(permissions: [String]? = nil, allowedIPs: [String]? = nil, expiresAt: Date? = nil) {
        self.permissions = permissions
        self.allowedIPs = allowedIPs
        self.expiresAt = expiresAt
    }
}

/// Who makes (or rolls) a credential, and so the most it may hand out: a credential never reaches
/// further than whoever made it. Checked in the services, so the API, the cabinet and the CLI share it.
public enum Minter: Sendable {
    /// The platform's operator (CLI): no bound.
    case platformOperator
    /// A management API caller: its permissions, allowlist and expiry bound what it makes.
    case key(AuthenticatedKey)
    /// A cabinet member: their role bounds the Keyward permissions of what they make. Roles say
    /// nothing of upstream API scopes, addresses or lifetimes.
    case member(MemberRole)

    /// The limits of a new credential: unspecified limits are inherited from a restricted minter (so a
    /// restricted key makes restricted credentials by default); anything wider than the minter holds is
    /// refused with 403 `insufficient_permissions`. `managing` is true for credentials that can call the
    /// management API (secret keys); the others carry only upstream scopes.
    public func limits(for requested: RequestedLimits, managing: Bool, now: Date) throws(KeywardError) -> CredentialLimits {
        let permissions = try Validation.permissions(requested.permissions)
        let allowedIPs = try Validation.allowList(requested.allowedIPs)
        let expiresAt = try Validation.expiry(requested.expiresAt, now: now)
        var limits = CredentialLimits(permissions: permissions, allowedIPs: allowedIPs, expiresAt: expiresAt)
        if case .key(let key) = self {
            if requested.permissions == nil { limits.permissions = key.permissions }
            if requested.allowedIPs == nil { limits.allowedIPs = key.allowedIPs }
            if requested.expiresAt == nil { limits.expiresAt = key.expiresAt }
        }
        try admit(limits, managing: managing)
        return limits
    }

    /// Refuses limits wider than the minter holds (rolling an existing credential hands out its limits as they are).
    public func admit(_ limits: CredentialLimits, managing: Bool) throws(KeywardError) {
        switch self {
        case .platformOperator:
            return
        case .key(let key):
            let holder = "Key \(key.keyID)"
            if let own = key.permissions {
                guard let asked = limits.permissions else {
                    throw Self.refusal("\(holder) is restricted: it cannot hand out an unrestricted credential.")
                }
                let beyond = Set(asked).subtracting(own)
                guard beyond.isEmpty else {
                    throw Self.refusal("\(holder) is restricted: it cannot hand out \(beyond.sorted().joined(separator: ", ")), which it lacks.")
                }
            }
            guard limits.allowlist(isWithin: key.allowedIPs) else {
                throw Self.refusal(
                    "\(holder) may be used only from \(key.allowedIPs.map(\.description).joined(separator: ", ")): what it makes must be limited to those networks too."
                )
            }
            if let ownExpiry = key.expiresAt {
                guard let expiry = limits.expiresAt, expiry <= ownExpiry else {
                    throw Self.refusal("\(holder) expires at \(ownExpiry.formatted(.iso8601)): what it makes cannot outlive it.")
                }
            }
        case .member(let role):
            guard managing else { return }
            let held = role.permissions
            guard let asked = limits.permissions else {
                let missing = Set(Permission.allCases).subtracting(held)
                guard missing.isEmpty else {
                    throw Self.refusal(
                        "Your role (\(role.name)) lacks \(missing.map(\.rawValue).sorted().joined(separator: ", ")), so it cannot make an unrestricted key; choose its permissions."
                    )
                }
                return
            }
            let beyond = Set(asked.compactMap(Permission.init(rawValue:))).subtracting(held)
            guard beyond.isEmpty else {
                throw Self.refusal(
                    "Your role (\(role.name)) cannot hand out \(beyond.map(\.rawValue).sorted().joined(separator: ", ")), which it lacks."
                )
            }
        }
    }

    /// Checks only the lifetime, for credentials that carry no permissions or allowlist (payment keys):
    /// a caller that expires cannot hand out a secret that outlives it.
    public func admit(expiry: Date?) throws(KeywardError) {
        guard case .key(let key) = self, let ownExpiry = key.expiresAt else { return }
        guard let expiry, expiry <= ownExpiry else {
            throw Self.refusal("Key \(key.keyID) expires at \(ownExpiry.formatted(.iso8601)): the secret it makes cannot outlive it.")
        }
    }

    /// The lifetime a new credential without limits of its own gets from its minter.
    public var inheritedExpiry: Date? {
        if case .key(let key) = self { return key.expiresAt }
        return nil
    }

    /// Who made it, for the audit log.
    public func actor(address: String? = nil) -> AuditActor {
        switch self {
        case .platformOperator: AuditActor(type: "operator", id: "cli")
        case .key(let key): AuditActor(type: "key", id: key.keyID, address: address)
        case .member: AuditActor(type: "user", id: "member", address: address)
        }
    }

    static func refusal(_ message: String) -> KeywardError {
        KeywardError(.forbidden, .insufficientPermissions, message)
    }
}

extension IPNetwork {
    /// Whether every address of `other` lies inside this network.
    public func covers(_ other: IPNetwork) -> Bool {
        // Families must match: an IPv4 allowlist never admits IPv6 networks, nor the other way.
        guard other.address.count == address.count else { return false }
        return other.prefixLength >= prefixLength && contains(other.address)
    }
}

extension AuthenticatedKey {
    /// Refuses a call from outside the credential's allowlist or the merchant's.
    public func admit(from address: [UInt8]?) throws(KeywardError) {
        if !allowedIPs.isEmpty {
            guard let address, allowedIPs.contains(where: { $0.contains(address) }) else {
                throw KeywardError(
                    .forbidden,
                    .ipNotAllowed,
                    "Credential \(keyID) may only be used from its IP allowlist; this call came from \(KeyAuthenticator.describe(address))."
                )
            }
        }
        if !merchantAllowedIPs.isEmpty {
            guard let address, merchantAllowedIPs.contains(where: { $0.contains(address) }) else {
                throw KeywardError(
                    .forbidden,
                    .ipNotAllowed,
                    "Merchant \(mid) accepts API calls only from its IP allowlist (Settings); this call came from \(KeyAuthenticator.describe(address))."
                )
            }
        }
    }
}

extension CredentialLimits {
    /// Limits as stored in a credential's `permissions`, `allowed_ips` and `expires_ms` columns (NULL
    /// columns, from rows older than these limits, mean no limit).
    init(storedPermissions: String?, storedAllowedIPs: String?, expiresMillis: Int64?) {
        self.init(
            permissions: storedPermissions.flatMap { JSONText.decode([String].self, $0) },
            allowedIPs: storedAllowedIPs.flatMap { JSONText.decode([IPNetwork].self, $0) } ?? [],
            expiresAt: expiresMillis.map(Date.init(millis:))
        )
    }

    var storedPermissions: String? { permissions.map { JSONText.encode($0) } }
    var storedAllowedIPs: String { JSONText.encode(allowedIPs) }
    var expiresMillis: Int64? { expiresAt?.millis }
}
