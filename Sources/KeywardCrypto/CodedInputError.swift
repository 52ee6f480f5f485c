/// A refusal with a stable machine `code` and a `message` safe to show and to log: it names the problem,
/// never key material or a secret. The HTTP edge renders any `CodedError` it did not map otherwise as a
/// 400 problem+json with this code and message.
public protocol CodedError: Error, Sendable, CustomStringConvertible {
    /// The stable code.
    var code: ErrorCode { get }
    /// Human explanation; safe to show and to log.
    var message: String { get }
}

extension CodedError {
    public var description: String { "\(code): \(message)" }
}

/// Input Keyward refuses while verifying WebAuthn data (CBOR, authenticator data, attestation, assertion).
public struct CodedInputError: CodedError, Equatable {
    public let code: ErrorCode
    public let message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
