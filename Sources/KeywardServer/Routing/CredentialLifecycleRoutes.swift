import Hummingbird
import KeywardCore

/// The management routes of the credential lifecycle, written once for every kind: each kind says how
/// its service rolls or revokes and how its resource is drawn; the route shape (`POST …/:id/roll` with
/// `{"overlap_seconds": n}`, `POST …/:id/revoke` with an empty body), the permission and the answer's
/// status are the same for all.
extension ManageRoutes {
    /// Who asks, about which of their credentials.
    struct CredentialTarget {
        /// The caller's key.
        let key: AuthenticatedKey
        /// The `:id` of the path.
        let id: String
    }

    /// `GET {collection}?limit=&starting_after=`: a page of the caller's credentials of one kind, newest first,
    /// in the one list envelope. `list` fetches `page.fetchLimit` of them after `page.startingAfter`.
    func listRoute<Resource: Encodable & Sendable>(
        _ collection: String,
        _ list: @escaping @Sendable (AuthenticatedKey, PageRequest) async throws -> [Resource]
    ) {
        get(collection, needs: .read(.credentials)) { request, context in
            let page = try PageRequest(request)
            return try JSONResponse.make(page.envelope(try await list(context.principal, page)))
        }
    }

    /// `POST {collection}/:id/revoke`: revokes one of the caller's credentials and answers with it.
    func revokeRoute<Resource: Encodable & Sendable>(
        _ collection: String,
        _ revoke: @escaping @Sendable (CredentialTarget) async throws -> Resource
    ) {
        post("\(collection)/:id/revoke", needs: .write(.credentials)) { request, context in
            _ = try await JSONBody.decode(EmptyBody.self, from: request)
            let target = CredentialTarget(key: context.principal, id: try context.parameters.require("id"))
            return try JSONResponse.make(try await revoke(target))
        }
    }

    /// `POST {collection}/:id/roll`: replaces one of the caller's credentials, the old one working for
    /// `overlap_seconds`, and answers 201 with the replacement (and its secret, shown once).
    func rollRoute<Resource: Encodable & Sendable>(
        _ collection: String,
        _ roll: @escaping @Sendable (CredentialTarget, _ overlapSeconds: Int?) async throws -> Resource
    ) {
        post("\(collection)/:id/roll", needs: .write(.credentials)) { request, context in
            let body = try await JSONBody.decode(RollBody.self, from: request)
            let target = CredentialTarget(key: context.principal, id: try context.parameters.require("id"))
            return try JSONResponse.make(try await roll(target, body.overlap_seconds), status: .created)
        }
    }
}
