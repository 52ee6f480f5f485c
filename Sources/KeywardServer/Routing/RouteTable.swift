import Foundation
import Hummingbird
import Synchronization

/// Every `/v1` and cabinet route with what it needs, recorded as the route is registered. The
/// route table test walks the router and fails on a route that is missing here, and compares the
/// table with the reviewed fixture, so a new route cannot arrive without a declared requirement.
public final class RouteTable: Sendable {
    /// One registered route.
    public struct Entry: Sendable, Hashable, Comparable {
        public let method: String
        public let path: String
        public let requirement: String
        /// The audit action a changing management route records (nil for reads and cabinet routes).
        public let audit: String?

        public static func < (a: Entry, b: Entry) -> Bool { (a.path, a.method) < (b.path, b.method) }
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// Records a route; the path is spelled as the router spells it (`{id}` for a parameter).
    func record(method: String, path: String, requirement: String, audit: String? = nil) {
        let path = RouterPath(path).description
        entries.withLock { $0.append(Entry(method: method, path: path, requirement: requirement, audit: audit)) }
    }

    /// Entries sorted by path and method.
    public var all: [Entry] { entries.withLock { $0 }.sorted() }

    /// One line per route: `METHOD path  requirement` and, for a changing management route, `; audit action`.
    public var rendered: String {
        all.map { "\($0.method) \($0.path)  \($0.requirement)\($0.audit.map { "; audit \($0)" } ?? "")" }.joined(separator: "\n") + "\n"
    }
}
