import KeywardCrypto

/// The one permission check behind the cabinet and the management API. A cabinet member holds their
/// role's permissions; a secret key holds every permission when unrestricted, otherwise the permission
/// names in its list (next to the upstream scopes it may carry). Live-mode credentials and
/// certificates also need `keys.live`.
public enum Authorization {
    /// Refuses, naming what is missing, unless `granted` covers `needed`.
    public static func require(_ needed: Set<Permission>, granted: Set<Permission>, holder: String) throws(KeywardError) {
        let missing = needed.subtracting(granted)
        guard missing.isEmpty else {
            throw KeywardError(.forbidden, "insufficient_permissions", "\(holder) lacks \(missing.map(\.rawValue).sorted().joined(separator: ", ")).")
        }
    }

    /// What an action on `area` needs: `read` or write permission of the area, plus `keys.live` in live mode
    /// for credentials and certificates.
    public static func needs(_ area: Area, write: Bool, mode: Mode) -> Set<Permission> {
        needs(write ? area.write : area.read, mode: area.isLiveSensitive ? mode : nil)
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

    /// What a part of the cabinet or the management API guards.
    public enum Area: Sendable, Equatable {
        case credentials, certificates, settings, audit, team

        var read: Permission {
            switch self {
            case .credentials: .keysRead
            case .certificates: .certificatesRead
            case .settings: .settingsWrite
            case .audit: .auditRead
            case .team: .teamManage
            }
        }

        var write: Permission {
            switch self {
            case .credentials: .keysWrite
            case .certificates: .certificatesWrite
            case .settings: .settingsWrite
            case .audit: .auditRead
            case .team: .teamManage
            }
        }

        var isLiveSensitive: Bool { self == .credentials || self == .certificates }

        /// The area of a management API path segment (`/v1/manage/<segment>/…`); nil for unknown paths.
        public init?(managementSegment segment: Substring) {
            switch segment {
            case "keys", "payment-keys", "order-hash", "signing-keys", "stores", "jwks", "service-code", "device-sessions": self = .credentials
            case "certificates", "channels", "apple-pay": self = .certificates
            case "webhook", "settings": self = .settings
            case "audit": self = .audit
            default: return nil
            }
        }
    }
}
