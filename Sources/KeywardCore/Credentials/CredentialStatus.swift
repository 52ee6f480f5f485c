import Foundation

/// Lifecycle state of a credential (secret key, payment key, signing key, store key index, JWK, device
/// session). Its `rawValue` is the `status` string of the API and the cabinet, so it must stay stable.
public enum CredentialStatus: String, Sendable, Codable, CaseIterable {
    /// Works.
    case active
    /// Replaced by a roll; works until its overlap ends.
    case rolling
    /// Past its expiry (its own or, for a key that came in a certificate, the certificate's).
    case expired
    /// Revoked.
    case revoked

    /// The one precedence rule: revoked > expired > rolling > active. A revoked credential stays
    /// `revoked` after its expiry (the stronger, deliberate fact), and a rolled key whose overlap has
    /// ended is `expired` (rolling sets its expiry to the end of the overlap).
    /// - Parameters:
    ///   - revokedAt: when it was revoked, if it was.
    ///   - expiresAt: the earliest moment it stops working by time, if any.
    ///   - rolled: whether a roll replaced it.
    ///   - now: the moment asked about.
    public init(revokedAt: Date?, expiresAt: Date?, rolled: Bool = false, at now: Date) {
        if revokedAt != nil {
            self = .revoked
        } else if let expiresAt, expiresAt <= now {
            self = .expired
        } else if rolled {
            self = .rolling
        } else {
            self = .active
        }
    }

    /// Whether a credential in this state still authenticates (`active`, or `rolling` within its overlap).
    public var isUsable: Bool { self == .active || self == .rolling }

    /// The earliest of several expiries (`nil` when none is set): a key that came in a certificate and
    /// was also given an expiry stops at whichever comes first.
    static func earliest(_ dates: Date?...) -> Date? { dates.compactMap { $0 }.min() }
}

extension SecretKeyInfo {
    /// Lifecycle state at `now` (see `CredentialStatus` for the precedence).
    public func status(at now: Date) -> CredentialStatus {
        CredentialStatus(revokedAt: revokedAt, expiresAt: expiresAt, rolled: replacedBy != nil, at: now)
    }
}

extension PaymentKeyInfo {
    /// Lifecycle state at `now` (see `CredentialStatus` for the precedence).
    public func status(at now: Date) -> CredentialStatus {
        CredentialStatus(revokedAt: revokedAt, expiresAt: expiresAt, rolled: replacedBy != nil, at: now)
    }
}

extension SigningKeyInfo {
    /// When it stops verifying by time: its certificate's end or its own expiry, whichever comes first
    /// (the gateway refuses it from then on).
    public var effectiveExpiry: Date? { CredentialStatus.earliest(notAfter, limits.expiresAt) }

    /// Lifecycle state at `now` (see `CredentialStatus` for the precedence).
    public func status(at now: Date) -> CredentialStatus {
        CredentialStatus(revokedAt: revokedAt, expiresAt: effectiveExpiry, at: now)
    }
}

extension StoreKeyInfo {
    /// When the key index stops verifying by time: its certificate's end or its own expiry, whichever comes first.
    public var effectiveExpiry: Date? { CredentialStatus.earliest(notAfter, limits.expiresAt) }

    /// Lifecycle state at `now` (see `CredentialStatus` for the precedence).
    public func status(at now: Date) -> CredentialStatus {
        CredentialStatus(revokedAt: revokedAt, expiresAt: effectiveExpiry, at: now)
    }
}

extension JWEKeyInfo {
    /// Lifecycle state at `now`: an expired JWK opens no session and its sessions stop (see `CredentialStatus`).
    public func status(at now: Date) -> CredentialStatus {
        CredentialStatus(revokedAt: revokedAt, expiresAt: limits.expiresAt, at: now)
    }
}

extension DeviceSessionInfo {
    /// Lifecycle state at `now`, from the session's own expiry and revocation (see `CredentialStatus`).
    public func status(at now: Date) -> CredentialStatus {
        CredentialStatus(revokedAt: revokedAt, expiresAt: expiresAt, at: now)
    }
}
