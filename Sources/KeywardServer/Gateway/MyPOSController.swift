import AsyncHTTPClient
import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto
import KeywardDialects

/// The myPOS Checkout (IPC) endpoint: form posts verified against the store's key index, forwarded
/// upstream, and answered with Keyward's signature made by the platform key of that index, so the
/// merchant's SDK verifies the answer with the platform certificate it downloaded.
struct MyPOSController {
    let providers: ProviderAuthenticator
    let proxy: UpstreamProxy?
    let maxBodyBytes: Int
    let rateLimits: RateLimitGate

    func addRoutes(to router: Router<KeywardRequestContext>, path: String, mode: Mode) {
        router.post(RouterPath(path)) { request, context in
            var context = context
            let (request, verified) = try await rateLimits.authenticate(context) { [request] in
                var request = request
                let verified = try await providers.authenticateMyPOS(&request, mode: mode, clientAddress: context.clientAddress)
                return (request, verified)
            }
            context.key = verified.principal
            return try await rateLimits.run(verified.principal, context: context) { [request, context] in
                try await answer(request, context: context, verified: verified)
            }
        }
    }

    /// Forwards a verified form and signs the answer (or confirms the verification when no upstream is set).
    private func answer(_ request: Request, context: KeywardRequestContext, verified: VerifiedMyPOSRequest) async throws -> Response {
        let wantsJSON = verified.parameters.first { $0.name == "OutputFormat" }?.value.lowercased() == "json"
        guard let proxy else {
            // No upstream: confirm the verification in the format asked for, signed like any answer.
            let fields: [(name: String, value: String)] = [
                ("Status", "0"), ("StatusMsg", "Signature verified; no upstream API is configured"),
                ("SID", verified.store.externalID), ("KeyIndex", String(verified.key.info.keyIndex)), ("Mode", verified.store.mode.rawValue),
            ]
            return try wantsJSON
                ? Self.jsonAnswer(.object(fields.map { .init($0.name, .string($0.value)) }), key: verified.key, status: .ok, headers: [:])
                : Self.formAnswer(fields, key: verified.key, status: .ok, headers: [:])
        }
        let upstream = try await proxy.exchange(request, context: context, key: verified.principal)
        let body: ByteBuffer
        do {
            body = try await upstream.body.collect(upTo: maxBodyBytes)
        } catch {
            throw KeywardError(.badGateway, .upstreamUnavailable, "The upstream answer was cut short or exceeds \(maxBodyBytes) bytes.")
        }
        var headers = UpstreamProxy.responseHeaders(upstream)
        headers[.contentLength] = nil
        let status = HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase)
        let type = upstream.headers.first(name: "content-type")?.lowercased() ?? ""
        let bytes = Array(buffer: body)
        if type.hasPrefix("application/json"), let document = try? OrderedJSON.parse(bytes), case .object = document {
            return try Self.jsonAnswer(document, key: verified.key, status: status, headers: headers)
        }
        if type.hasPrefix("application/x-www-form-urlencoded"), let fields = try? FormEncoding.decode(bytes) {
            return try Self.formAnswer(fields, key: verified.key, status: status, headers: headers)
        }
        // Pages and other formats go back as they came: myPOS signs data answers, not HTML.
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    static func formAnswer(
        _ fields: [(name: String, value: String)],
        key: ResolvedStoreKey,
        status: HTTPResponse.Status,
        headers: HTTPFields
    ) throws -> Response {
        let signed = try MyPOSIPC.signed(fields, with: key.platformKey)
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: FormEncoding.encode(signed))))
    }

    static func jsonAnswer(_ document: OrderedJSON, key: ResolvedStoreKey, status: HTTPResponse.Status, headers: HTTPFields) throws -> Response {
        let signed = try MyPOSIPC.signJSON(document, with: key.platformKey)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: signed.serialized)))
    }
}
