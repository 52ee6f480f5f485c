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

    func requestedLimits() throws -> RequestedLimits {
        RequestedLimits(permissions: permissions, allowedIPs: allowed_ips, expiresAt: try Timestamp.parse(expires_at, field: "expires_at"))
    }
}

/// How answers show a credential's limits.
struct LimitsResource: Encodable {
    let permissions: [String]?
    let allowed_ips: [String]
    let expires_at: String?

    init(_ limits: CredentialLimits) {
        permissions = limits.permissions
        allowed_ips = limits.allowedIPs.map(\.description)
        expires_at = Timestamp.format(limits.expiresAt)
    }
}

extension LimitedCredentialBody {
    /// The requested limits, already checked against what `key` may hand out: for handlers that do costly
    /// work (RSA key generation) before the service checks them again, so bad input is refused first.
    func checkedLimits(for key: AuthenticatedKey, now: Date) throws -> RequestedLimits {
        let requested = try requestedLimits()
        _ = try Minter.key(key).limits(for: requested, managing: false, now: now)
        return requested
    }
}
