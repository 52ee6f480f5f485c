import Hummingbird

/// `GET /v1/openapi.json`: the OpenAPI 3.1 document of the `/v1` API, for anyone (it describes the API,
/// it holds nothing of any merchant). Registered on the router itself, before the `/v1` group, so the
/// group's credential check and the gateway's `/v1/**` never see it.
struct OpenAPIController {
    static let path = "/v1/openapi.json"

    func addRoutes(to router: Router<KeywardRequestContext>, table: RouteTable) {
        table.record(method: "GET", path: Self.path, requirement: "none: public document")
        let body = ByteBuffer(string: OpenAPIDocument.json)
        router.get(RouterPath(Self.path)) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: body)
            )
        }
    }
}
