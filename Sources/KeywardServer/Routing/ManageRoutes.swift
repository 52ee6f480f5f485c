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
        table.record(method: method.rawValue, path: "\(prefix)/\(path)", requirement: needs.description)
        group.on(RouterPath(path), method: method) { request, context in
            try Authorization.authorize(needs, key: context.principal)
            return try await handler(request, context)
        }
    }

    /// Management paths are Keyward's own: an unknown one is a 404 here, never forwarded upstream.
    func refuseUnknownPaths() {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            table.record(method: method.rawValue, path: "\(prefix)/**", requirement: "none: 404 not_found")
            group.on("**", method: method) { _, _ -> Response in
                throw KeywardError(.notFound, .notFound, "No such management endpoint.")
            }
        }
    }
}
