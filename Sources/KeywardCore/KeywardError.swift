import KeywardCrypto

/// A failure a caller can act on: a stable machine `code`, a message that says what to check (never a
/// secret), and a `kind` the HTTP edge maps to a status. The domain knows nothing of HTTP.
public struct KeywardError: CodedError, Equatable {
    /// Broad classes of failure; the server maps each to one HTTP status.
    public enum Kind: Sendable, Equatable {
        case unauthenticated, forbidden, notFound, invalidInput, conflict, tooLarge, unavailable, badGateway
        /// A body in a format the endpoint does not read (a form sent to a JSON endpoint).
        case unsupportedMediaType
    }

    /// What class of failure this is.
    public let kind: Kind
    /// Stable machine code (`snake_case` on the wire), documented in README and never renamed.
    public let code: ErrorCode
    /// Human explanation; safe to show to the caller and to log.
    public let message: String
    /// The request field concerned, when one is.
    public let field: String?

    /// A new error.
    public init(_ kind: Kind, _ code: ErrorCode, _ message: String, field: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
    }
}

extension KeywardError {
    static func invalid(_ code: ErrorCode, _ message: String, field: String? = nil) -> KeywardError {
        KeywardError(.invalidInput, code, message, field: field)
    }

    /// A missing object; `scoped` objects belong to a merchant and mode, and saying so tells the caller
    /// to check they used a key of the right merchant and mode.
    static func notFound(_ what: String, id: String, scoped: Bool = true) -> KeywardError {
        let scope = scoped ? " in this merchant and mode" : ""
        return KeywardError(.notFound, .resourceMissing, "No \(what) with id '\(id.prefix(64))'\(scope).")
    }
}

extension KeywardError {
    /// Runs a storage read on the authentication path: a database failure becomes a 503
    /// `storage_unavailable` the client may retry (naming `what` could not be checked), never a 500;
    /// a `KeywardError` the read throws (a refusal) passes through unchanged.
    public static func unlessStorageFails<T>(checking what: String, _ read: () async throws -> T) async throws(KeywardError) -> T {
        do {
            return try await read()
        } catch let error as KeywardError {
            throw error
        } catch {
            throw KeywardError(.unavailable, .storageUnavailable, "\(what) cannot be checked right now; retry shortly.")
        }
    }
}
