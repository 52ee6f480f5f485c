import KeywardCrypto

/// The one permission check behind the cabinet and the management API. Every management and cabinet
/// action declares a `Requirement` where it is registered; the check compares it with what the caller
/// holds: a cabinet member their role's permissions, a secret key every permission when unrestricted,
/// otherwise the permission names in its list (next to the upstream scopes it may carry).
///
/// Two scopes: objects of one mode (credentials, certificates, channels, audit entries of that mode),
/// where live-mode credentials and certificates also need `keys.live`; and merchant-wide state
/// (webhook, settings, domain association, team), which guards live traffic too and so takes a
/// live-mode key when reached through the API.
public enum Authorization {
    /// Refuses, naming what is missing, unless `granted` covers `needed`.
    public static func require(_ needed: Set<Permission>, granted: Set<Permission>, holder: String) throws(KeywardError) {
        let missing = needed.subtracting(granted)
        guard missing.isEmpty else {
            throw KeywardError(.forbidden, .insufficientPermissions, "\(holder) lacks \(missing.map(\.rawValue).sorted().joined(separator: ", ")).")
        }
    }

    /// `permission`, plus `keys.live` when it is exercised on live-mode objects.
    public static func needs(_ permission: Permission, mode: Mode?) -> Set<Permission> {
        mode == .live ? [permission, .keysLive] : [permission]
    }

    /// The permissions a secret key holds.
    public static func granted(keyPermissions: [String]?) -> Set<Permission> {
        guard let keyPermissions else { return Set(Permission.allCases) }
        return Set(keyPermissions.compactMap(Permission.init(rawValue:)))
    }

    /// Checks `requirement` for a management API caller. Only secret keys manage: signing keys and
    /// provider credentials authenticate API calls only. Merchant-wide state needs a live-mode key.
    public static func authorize(_ requirement: Requirement, key: AuthenticatedKey) throws(KeywardError) {
        guard key.scheme == .secretKey else {
            throw KeywardError(
                .forbidden,
                .insufficientPermissions,
                "The management API needs a secret key; \(key.scheme.title) authenticate API calls only."
            )
        }
        if requirement.scope == .merchant && key.mode != .live {
            throw KeywardError(
                .forbidden,
                .liveKeyRequired,
                "This is merchant-wide state that applies to live traffic: use a live-mode key or the cabinet. A test key reaches test-mode objects only."
            )
        }
        try require(requirement.permissions(mode: key.mode), granted: granted(keyPermissions: key.permissions), holder: "Key \(key.keyID)")
    }

    /// Checks `requirement` for a cabinet member acting in `mode` (ignored for merchant-wide state).
    public static func authorize(_ requirement: Requirement, role: MemberRole, mode: Mode) throws(KeywardError) {
        try require(requirement.permissions(mode: mode), granted: role.permissions, holder: "Your role (\(role.name))")
    }

    /// What a part of the cabinet or the management API guards.
    public enum Area: String, Sendable, Hashable, CaseIterable {
        case credentials, certificates, settings, audit, team

        public var read: Permission {
            switch self {
            case .credentials: .keysRead
            case .certificates: .certificatesRead
            case .settings: .settingsWrite
            case .audit: .auditRead
            case .team: .teamManage
            }
        }

        public var write: Permission {
            switch self {
            case .credentials: .keysWrite
            case .certificates: .certificatesWrite
            case .settings: .settingsWrite
            case .audit: .auditRead
            case .team: .teamManage
            }
        }

    }

    /// Whose state an action reaches.
    public enum Scope: String, Sendable, Hashable {
        /// Objects of the caller's mode (a key's own mode; the mode a cabinet page names).
        case mode
        /// State of the whole merchant, shared by both modes and applied to live traffic.
        case merchant
    }

    /// What an action needs: read or write access to an area, in a scope.
    public struct Requirement: Sendable, Hashable, CustomStringConvertible {
        public let area: Area
        public let write: Bool
        public let scope: Scope

        /// Reading `area`.
        public static func read(_ area: Area, scope: Scope = .mode) -> Requirement { Requirement(area: area, write: false, scope: scope) }
        /// Changing `area`.
        public static func write(_ area: Area, scope: Scope = .mode) -> Requirement { Requirement(area: area, write: true, scope: scope) }

        /// The permissions needed in `mode`.
        public func permissions(mode: Mode) -> Set<Permission> {
            let permission = write ? area.write : area.read
            return needs(permission, mode: needsLiveGrant ? mode : nil)
        }

        /// Live-mode credentials, and changes to live certificates, also take `keys.live`. Reading
        /// certificates does not: they are public.
        var needsLiveGrant: Bool { scope == .mode && (area == .credentials || (write && area == .certificates)) }

        /// `keys.write (+keys.live in live mode), per mode`: how the route table shows it.
        public var description: String {
            let permission = (write ? area.write : area.read).rawValue
            switch scope {
            case .mode: return needsLiveGrant ? "\(permission) (+keys.live in live mode), per mode" : "\(permission), per mode"
            case .merchant: return "\(permission), merchant-wide (API: live-mode keys only)"
            }
        }
    }
}

extension AuthScheme {
    /// How messages name credentials of this scheme.
    public var title: String {
        switch self {
        case .secretKey: "secret keys"
        case .httpSignature: "signing keys"
        case .myPOS, .aliKassa: "provider store keys"
        case .deviceSession: "technical sessions"
        }
    }
}
