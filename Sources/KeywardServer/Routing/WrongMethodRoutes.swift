import Hummingbird
import KeywardCore
import Synchronization

/// A known path asked with a method it does not take: answered 405 with `Allow` naming the methods it
/// does (RFC 9110 §15.5.6), never the 404 of a path that does not exist. Mapped by `ProblemMapping`
/// (problem+json) and by the cabinet's error pages (HTML).
struct MethodNotAllowed: Error {
    /// The refusal (`method_not_allowed`) as the body says it.
    let refusal: KeywardError
    /// The methods the path takes, as the `Allow` field lists them (`GET, POST`).
    let allow: String
}

/// The methods each path of a group takes, collected as its routes are registered, so that once all are
/// in, every other method of a known path can be answered 405 (Hummingbird's router answers a known
/// path with an unknown method as if the path did not exist).
final class RegisteredMethods: Sendable {
    /// The methods a wrong-method answer is registered for (HEAD and OPTIONS are not served on these groups).
    static let answered: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]

    private let paths = Mutex<[String: Set<HTTPRequest.Method>]>([:])

    init() {}

    /// Notes that `path` (as given to the group) takes `method`.
    func add(_ method: HTTPRequest.Method, _ path: String) {
        _ = paths.withLock { $0[path, default: []].insert(method) }
    }

    /// Every path with the answered methods it does not take and its `Allow` value, in path order.
    var wrongMethods: [(path: String, methods: [HTTPRequest.Method], allow: String)] {
        paths.withLock { $0 }.sorted { $0.key < $1.key }.compactMap { path, taken in
            let wrong = Self.answered.filter { !taken.contains($0) }
            guard !wrong.isEmpty else { return nil }
            let allow = (Self.answered.filter(taken.contains) + taken.filter { !Self.answered.contains($0) }.sorted { $0.rawValue < $1.rawValue })
                .map(\.rawValue).joined(separator: ", ")
            return (path, wrong, allow)
        }
    }

    /// How the route table lists a wrong-method answer.
    static func requirement(allow: String) -> String { "none: 405 method_not_allowed (Allow: \(allow))" }

    /// The refusal for `method` on `path` (the route's pattern, never the request's own text).
    static func refusal(_ method: HTTPRequest.Method, _ path: String, allow: String) -> KeywardError {
        KeywardError(.invalidInput, .methodNotAllowed, "\(path) does not take \(method.rawValue); it takes \(allow).")
    }
}

extension ManageRoutes {
    /// Registers a 405 for every method a known management path does not take. Refusing a change is
    /// audited as probing an unknown endpoint is (`api.unknown_endpoint`, detail `METHOD path`, outcome
    /// `method_not_allowed`): no action of the vocabulary was tried, and the attempt is worth seeing. A
    /// wrong GET is not recorded, as reads of unknown paths are not. The caller's key is verified first,
    /// as for every management path.
    func refuseWrongMethods() {
        let audit = self.audit
        for (path, methods, allow) in registered.wrongMethods {
            let fullPath = RouterPath("\(prefix)/\(path)").description
            for method in methods {
                table.record(
                    method: method.rawValue,
                    path: fullPath,
                    requirement: RegisteredMethods.requirement(allow: allow),
                    audit: method == .get ? nil : AuditAction.unknownEndpoint.rawValue
                )
                group.on(RouterPath(path), method: method) { request, context -> Response in
                    let refusal = RegisteredMethods.refusal(method, fullPath, allow: allow)
                    guard method != .get else { throw MethodNotAllowed(refusal: refusal, allow: allow) }
                    let scope = AuditScope(
                        log: audit,
                        merchantID: context.principal.merchantID,
                        mode: context.principal.mode,
                        actor: context.auditActor,
                        action: .unknownEndpoint,
                        detail: "\(method.rawValue) \(request.uri.path)",
                        target: ManageAudit.lastIdentifier(in: request.uri.path)
                    )
                    do {
                        return try await ManageAudit.run(scope, logger: context.logger) { throw refusal }
                    } catch let error as KeywardError where error.code == .methodNotAllowed {
                        throw MethodNotAllowed(refusal: error, allow: allow)
                    }
                }
            }
        }
    }
}

extension CabinetRoutes {
    /// Registers a 405 page for every method a known cabinet page does not take (no session needed: which
    /// methods a page takes is no secret).
    func refuseWrongMethods() {
        for (path, methods, allow) in registered.wrongMethods {
            let fullPath = path.isEmpty ? prefix : "\(prefix)/\(path)"
            for method in methods {
                table.record(method: method.rawValue, path: fullPath, requirement: RegisteredMethods.requirement(allow: allow))
                open.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw MethodNotAllowed(refusal: RegisteredMethods.refusal(method, RouterPath(fullPath).description, allow: allow), allow: allow)
                }
            }
        }
    }
}
