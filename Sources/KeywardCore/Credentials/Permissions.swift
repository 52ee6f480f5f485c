/// What a cabinet member may do. One check serves the cabinet and the management API.
public enum Permission: String, Sendable, CaseIterable, Codable, Comparable {
    case keysRead = "keys.read"
    case keysWrite = "keys.write"
    /// Seeing or changing live-mode credentials (needs two-factor authentication).
    case keysLive = "keys.live"
    case certificatesRead = "certificates.read"
    case certificatesWrite = "certificates.write"
    case teamManage = "team.manage"
    case auditRead = "audit.read"
    case settingsWrite = "settings.write"

    public static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }
}

/// The roles every merchant has; custom roles are a name and a set of permissions.
public enum DefaultRole: String, Sendable, CaseIterable, Codable {
    case owner, administrator, developer, finance, viewer

    public var permissions: Set<Permission> {
        switch self {
        case .owner, .administrator: Set(Permission.allCases)
        case .developer: [.keysRead, .keysWrite, .certificatesRead, .certificatesWrite, .auditRead]
        case .finance: [.keysRead, .certificatesRead, .auditRead]
        case .viewer: [.keysRead, .certificatesRead]
        }
    }

    /// Display name.
    public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// A member's role: a default one or a merchant's custom role (by id).
public enum MemberRole: Sendable, Equatable {
    case builtIn(DefaultRole)
    case custom(id: String, name: String, permissions: Set<Permission>)

    public var permissions: Set<Permission> {
        switch self {
        case .builtIn(let role): role.permissions
        case .custom(_, _, let permissions): permissions
        }
    }

    /// What is stored: the default role's name or the custom role's id.
    public var storedValue: String {
        switch self {
        case .builtIn(let role): role.rawValue
        case .custom(let id, _, _): id
        }
    }

    public var name: String {
        switch self {
        case .builtIn(let role): role.title
        case .custom(_, let name, _): name
        }
    }

    /// Roles that can see or change live credentials must use two-factor authentication.
    public var requiresSecondFactor: Bool { permissions.contains(.keysLive) }
}
