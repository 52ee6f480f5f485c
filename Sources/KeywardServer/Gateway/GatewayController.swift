import Foundation
import Hummingbird
import KeywardCore

/// `/v1/auth/test` and the forwarding of every other authenticated `/v1/` call.
struct GatewayController {
    let proxy: UpstreamProxy?

    func addRoutes(to group: RouterGroup<KeywardRequestContext>, table: RouteTable) {
        // POST too: signed schemes (myPOS forms, AliKassa bodies) are posts.
        for method in [HTTPRequest.Method.get, .post] {
            table.record(
                method: method.rawValue,
                path: "/v1/auth/test",
                requirement: "any verified credential (secret key, RFC 9421 signature, store signature, device session)"
            )
            group.on("auth/test", method: method) { _, context in
                let key = try context.requireKey()
                var json = FlatJSON()
                json.add("key_id", key.keyID)
                json.add("merchant_id", key.merchantID)
                json.add("mid", key.mid)
                json.add("mode", key.mode.rawValue)
                json.add("scheme", key.scheme.rawValue)
                json.add("permissions", key.permissions ?? PermissionList.unrestricted)
                return json.response()
            }
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head, .options] {
            table.record(method: method.rawValue, path: "/v1/**", requirement: "any verified credential: forwarded upstream")
            group.on("**", method: method) { request, context in
                let key = try context.requireKey()
                guard let proxy else {
                    throw KeywardError(.notFound, .notFound, "No such endpoint, and no upstream API is configured (KEYWARD_UPSTREAM_URL).")
                }
                return try await proxy.forward(request, context: context, key: key)
            }
        }
    }
}
