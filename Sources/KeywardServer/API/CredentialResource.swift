import Foundation
import KeywardCore
import KeywardCrypto

/// A credential kind as the API shows it: what every kind can say about itself, in the words of the
/// common fields. Each kind's `status(at:)` is its own (a signing key expires with its certificate too).
protocol APICredential {
    /// The `object` of its answers (`secret_key`, `signing_key`, …).
    static var object: String { get }
    var id: String { get }
    var mode: Mode { get }
    var createdAt: Date { get }
    var revokedAt: Date? { get }
    /// When it stops working by time (its own expiry, its certificate's end or a roll's overlap, whichever
    /// comes first); `nil` when nothing ends it but a revocation. Its status turns `expired` then.
    var endsAt: Date? { get }
    /// Its name, for the kinds that have one.
    var displayName: String? { get }
    /// What it may do, from where, until when, for the kinds that carry their own limits.
    var apiLimits: CredentialLimits? { get }
    /// The credential a roll replaced it with, for the kinds that roll.
    var replacedBy: String? { get }
    /// Its lifecycle state at `now`.
    func status(at now: Date) -> CredentialStatus
}

extension APICredential {
    var displayName: String? { nil }
    var apiLimits: CredentialLimits? { nil }
    var replacedBy: String? { nil }
}

/// The fields every credential answer has, written in this one place: a field added here appears on every
/// kind. Times are RFC 3339 UTC without fraction; a field without a value is left out (never `null`).
struct CredentialHeader: Encodable, Sendable {
    let object: String
    let id: String
    let mode: String
    let name: String?
    let status: String
    let created_at: String?
    let expires_at: String?
    let revoked_at: String?
    let replaced_by: String?
    let limits: LimitsResource?

    init(_ credential: some APICredential, now: Date) {
        object = type(of: credential).object
        id = credential.id
        mode = credential.mode.rawValue
        name = credential.displayName
        status = credential.status(at: now).rawValue
        created_at = Timestamp.format(credential.createdAt)
        expires_at = Timestamp.format(credential.endsAt)
        revoked_at = Timestamp.format(credential.revokedAt)
        replaced_by = credential.replacedBy
        limits = credential.apiLimits.map(LimitsResource.init)
    }
}

/// A credential answer: the common fields and the kind's own (`Fields`), side by side in one JSON object.
struct CredentialResource<Fields: Encodable & Sendable>: Encodable, Sendable, IdentifiedResource {
    let header: CredentialHeader
    let fields: Fields

    var id: String { header.id }

    init(_ credential: some APICredential, now: Date, fields: Fields) {
        header = CredentialHeader(credential, now: now)
        self.fields = fields
    }

    func encode(to encoder: any Encoder) throws {
        // Both write into this encoder's one keyed container (JSONEncoder hands the same object to every
        // `container(keyedBy:)` of one level), so the answer stays flat as it always was.
        try header.encode(to: encoder)
        try fields.encode(to: encoder)
    }
}

/// An answer that names the object it is about: a 201 carries the id in `Keyward-Object-Id`.
protocol IdentifiedResource {
    var id: String { get }
}
