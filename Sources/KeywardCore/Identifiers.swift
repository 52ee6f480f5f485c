import Foundation
import KeywardCrypto

/// Prefixed random identifiers (`mch_…`, `key_…`, `pyk_…`): readable in logs and support tickets,
/// and unguessable, so an id alone never reveals another merchant's objects.
enum Identifier {
    static func make(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + "_" + Base62.encode(bytes, width: 22)
    }

    /// Whether `id` looks like one of ours with `prefix`; anything else is answered 404 without a query.
    static func isWellFormed(_ id: String, prefix: String) -> Bool {
        id.utf8.count == prefix.utf8.count + 23 && id.hasPrefix(prefix + "_")
            && Base62.isValid(id.utf8.dropFirst(prefix.utf8.count + 1))
    }
}

/// Millisecond timestamps, the storage representation of every instant.
extension Date {
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

/// Where the current time comes from; tests move it.
public struct KeywardClock: Sendable {
    /// Reads the clock.
    public let now: @Sendable () -> Date

    /// A clock reading `now`.
    public init(now: @escaping @Sendable () -> Date) { self.now = now }

    /// The system clock.
    public static let system = KeywardClock { Date() }
}
