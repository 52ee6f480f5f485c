/// Input Keyward refuses, with a stable machine `code` and a `message` safe to show and to log: it
/// names the problem, never key material or a secret.
public struct CodedInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String

    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
