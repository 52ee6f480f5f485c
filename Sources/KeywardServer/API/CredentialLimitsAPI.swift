import Foundation
import KeywardCore

/// Bodies that make a credential accept its limits: `permissions` (omitted = the caller's own, or
/// unrestricted for an unrestricted caller), `allowed_ips` (CIDR blocks) and `expires_at` (RFC 3339).
protocol LimitedCredentialBody {
    var permissions: [String]? { get }
    var allowed_ips: [String]? { get }
    var expires_at: String? { get }
}

extension LimitedCredentialBody {
    static var limitFields: Set<String> { ["permissions", "allowed_ips", "expires_at"] }

    /// The limits asked for by `key`'s call (`["*"]` read as `PermissionList.requested` reads it).
    func requestedLimits(for key: AuthenticatedKey) throws -> RequestedLimits {
        RequestedLimits(
            permissions: try PermissionList.requested(permissions, by: key),
            allowedIPs: allowed_ips,
            expiresAt: try Timestamp.parse(expires_at, field: "expires_at")
        )
    }
}

/// How the API writes "every permission": `["*"]`, in every answer that shows a credential's permissions
/// (a secret key's `permissions`, every kind's `limits.permissions`, `/v1/auth/test`) and in the
/// `Keyward-Permissions: *` header upstream. Chosen over leaving the field out because `/v1/auth/test` and
/// the header already said `*` and clients read them, and because a missing field reads as "none" as
/// easily as "all". A request may send `["*"]` back: an unrestricted caller then makes an unrestricted
/// credential; a restricted one is refused (it cannot hand out more than it holds).
enum PermissionList {
    static let unrestricted = ["*"]

    /// The permissions a request asks for, as Core reads them (nil = the caller's own, which is
    /// everything for an unrestricted caller).
    static func requested(_ names: [String]?, by key: AuthenticatedKey) throws -> [String]? {
        guard let names, names.contains("*") else { return names }
        guard names == unrestricted else {
            throw KeywardError(
                .invalidInput,
                .invalidPermissions,
                "'*' means every permission and stands alone in 'permissions'.",
                field: "permissions"
            )
        }
        guard key.permissions == nil else {
            throw KeywardError(
                .forbidden,
                .insufficientPermissions,
                "A restricted key cannot hand out every permission ('*'); list the permissions the new credential needs.",
                field: "permissions"
            )
        }
        return nil
    }
}

/// How answers show a credential's limits.
struct LimitsResource: Encodable {
    let permissions: [String]
    let allowed_ips: [String]
    let expires_at: String?

    init(_ limits: CredentialLimits) {
        permissions = limits.permissions ?? PermissionList.unrestricted
        allowed_ips = limits.allowedIPs.map(\.description)
        expires_at = Timestamp.format(limits.expiresAt)
    }
}

extension LimitedCredentialBody {
    /// The requested limits, already checked against what `key` may hand out: for handlers that do costly
    /// work (RSA key generation) before the service checks them again, so bad input is refused first.
    func checkedLimits(for key: AuthenticatedKey, now: Date) throws -> RequestedLimits {
        let requested = try requestedLimits(for: key)
        _ = try Minter.key(key).limits(for: requested, managing: false, now: now)
        return requested
    }
}
