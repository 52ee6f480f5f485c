import Hummingbird
import KeywardCore

/// The context of a `/v1/manage` handler: the caller is a verified key, always. A handler cannot be
/// reached without one: the context cannot be made from a request that has none.
struct ManageContext: ChildRequestContext {
    typealias ParentContext = KeywardRequestContext
    var coreContext: CoreRequestContextStorage
    /// The key the call speaks for.
    let principal: AuthenticatedKey
    /// The caller's address (TCP peer or the client a trusted proxy names).
    let clientAddress: [UInt8]?
    let requestID: String

    /// The caller as the audit log names it: the key, from its address.
    var auditActor: AuditActor {
        AuditActor(type: "key", id: principal.keyID, address: clientAddress.map(AuditActor.describe))
    }

    init(context: KeywardRequestContext) throws {
        guard let key = context.key else {
            throw KeywardError(.unauthenticated, .missingCredentials, "This endpoint needs a secret key in the Authorization header.")
        }
        self.coreContext = context.coreContext
        self.principal = key
        self.clientAddress = context.clientAddress
        self.requestID = context.requestID
    }
}

/// Registers management routes. There is no way to add a route without saying what it needs: the
/// requirement is checked before the handler runs and recorded in the route table.
struct ManageRoutes {
    let group: RouterGroup<ManageContext>
    let table: RouteTable
    /// The group's full path, for the route table (`/v1/manage`).
    let prefix: String
    /// Where every change made through these routes is recorded.
    let audit: AuditLog
    /// The methods each path takes, for the 405 of the others (`refuseWrongMethods`).
    let registered = RegisteredMethods()

    typealias Handler<Output: ResponseGenerator> = @Sendable (Request, ManageContext) async throws -> Output

    func get<Output: ResponseGenerator>(_ path: String, needs: Authorization.Requirement, use handler: @escaping Handler<Output>) {
        on(path, method: .get, needs: needs, use: handler)
    }

    func post<Output: ResponseGenerator>(_ path: String, needs: Authorization.Requirement, use handler: @escaping Handler<Output>) {
        on(path, method: .post, needs: needs, use: handler)
    }

    func put<Output: ResponseGenerator>(_ path: String, needs: Authorization.Requirement, use handler: @escaping Handler<Output>) {
        on(path, method: .put, needs: needs, use: handler)
    }

    func patch<Output: ResponseGenerator>(_ path: String, needs: Authorization.Requirement, use handler: @escaping Handler<Output>) {
        on(path, method: .patch, needs: needs, use: handler)
    }

    func delete<Output: ResponseGenerator>(_ path: String, needs: Authorization.Requirement, use handler: @escaping Handler<Output>) {
        on(path, method: .delete, needs: needs, use: handler)
    }

    func on<Output: ResponseGenerator>(
        _ path: String,
        method: HTTPRequest.Method,
        needs: Authorization.Requirement,
        use handler: @escaping Handler<Output>
    ) {
        let fullPath = RouterPath("\(prefix)/\(path)").description
        registered.add(method, path)
        guard method != .get, method != .head else {
            table.record(method: method.rawValue, path: fullPath, requirement: needs.description)
            group.on(RouterPath(path), method: method) { request, context in
                try Authorization.authorize(needs, key: context.principal)
                return try await handler(request, context)
            }
            return
        }
        let action = ManageAuditActions.byRoute["\(method.rawValue) \(fullPath)"]
        table.record(method: method.rawValue, path: fullPath, requirement: needs.description, audit: action?.rawValue ?? "MISSING")
        let audit = self.audit
        group.on(RouterPath(path), method: method) { request, context in
            // A route missing from the table is caught by the route table test; never unaudited meanwhile.
            let scope = AuditScope(
                log: audit,
                merchantID: context.principal.merchantID,
                mode: context.principal.mode,
                actor: context.auditActor,
                action: action ?? .unknownEndpoint,
                detail: action == nil ? "\(method.rawValue) \(request.uri.path)" : nil,
                target: ManageAudit.lastIdentifier(in: request.uri.path)
            )
            return try await ManageAudit.run(scope, logger: context.logger) {
                try Authorization.authorize(needs, key: context.principal)
                return try await handler(request, context).response(from: request, context: context)
            }
        }
    }

    /// Management paths are Keyward's own: an unknown one is a 404 here, never forwarded upstream. A
    /// change sent to one is audited (`api.unknown_endpoint`): probing is worth seeing.
    func refuseUnknownPaths() {
        // A known path with another method is a 405 with `Allow`, not an unknown path.
        refuseWrongMethods()
        let audit = self.audit
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            table.record(method: method.rawValue, path: "\(prefix)/**", requirement: "none: 404 not_found")
            group.on("**", method: method) { request, context -> Response in
                let refusal = KeywardError(.notFound, .notFound, "No such management endpoint.")
                guard method != .get else { throw refusal }
                let scope = AuditScope(
                    log: audit,
                    merchantID: context.principal.merchantID,
                    mode: context.principal.mode,
                    actor: context.auditActor,
                    action: .unknownEndpoint,
                    detail: "\(method.rawValue) \(request.uri.path)"
                )
                return try await ManageAudit.run(scope, logger: context.logger) { throw refusal }
            }
        }
    }
}
