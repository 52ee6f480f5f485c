import AsyncHTTPClient
import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// The Alliance Bank dialect: `POST /api-gateway/authorize_virtual_device` opens a technical session
/// whose secrets come back as a JWE to the merchant's JWK; later `/api-gateway/…` calls authenticate
/// with `x-device_id` + `x-refresh_token`, may send `text/plain` JWE bodies encrypted to the session's
/// `serverPublic` (decrypted before they go upstream), and then get the upstream answer encrypted back.
struct AllianceController {
    let sessions: DeviceSessionService
    let proxy: UpstreamProxy?
    let maxBodyBytes: Int
    let rateLimits: RateLimitGate

    func addRoutes(to router: Router<KeywardRequestContext>) {
        let gateway = router.group("api-gateway")
        gateway.post("authorize_virtual_device") { request, context in
            try Self.checkAPIVersion(request)
            let body = try await JSONBody.decode(AuthorizeDeviceBody.self, from: request)
            let issued = try await rateLimits.authenticate(context) {
                try await sessions.authorize(serviceCode: body.serviceCode, clientAddress: context.clientAddress)
            }
            var json = FlatJSON()
            json.add("jwe", issued.jwe)
            return json.response()
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            gateway.on("**", method: method) { request, context in
                try Self.checkAPIVersion(request)
                let session = try await rateLimits.authenticate(context) {
                    try await sessions.authenticate(
                        deviceID: request.headers[.allianceDeviceID] ?? "",
                        refreshToken: request.headers[.allianceRefreshToken] ?? "",
                        clientAddress: context.clientAddress
                    )
                }
                var context = context
                context.key = session.principal
                context.session = session
                return try await rateLimits.run(session.principal, context: context) { [context] in
                    try await forward(request, context: context, session: session)
                }
            }
        }
    }

    /// Decrypts a `text/plain` JWE body, forwards, and encrypts the answer back when the call was encrypted.
    func forward(_ request: Request, context: KeywardRequestContext, session: AuthenticatedSession) async throws -> Response {
        guard let proxy else {
            throw KeywardError(.notFound, .notFound, "No upstream API is configured (KEYWARD_UPSTREAM_URL); the session is valid.")
        }
        var request = request
        let encrypted = request.headers[.contentType]?.lowercased().hasPrefix("text/plain") == true
        if encrypted {
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: maxBodyBytes) } catch {
                throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
            }
            let plaintext: [UInt8]
            do {
                plaintext = try JWE.decrypt(String(buffer: body), with: session.serverKey).plaintext
            } catch {
                throw KeywardError(
                    .invalidInput,
                    error.code,
                    "The text/plain body must be a JWE encrypted to this session's serverPublic: \(error.message)"
                )
            }
            var head = request.head
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = String(plaintext.count)
            request = Request(head: head, body: .init(buffer: ByteBuffer(bytes: plaintext)))
        }
        let upstream = try await proxy.exchange(request, context: context, key: session.principal)
        var headers = UpstreamProxy.responseHeaders(upstream)
        let status = HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase)
        guard encrypted else { return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: upstream.body)) }
        let answer: ByteBuffer
        do { answer = try await upstream.body.collect(upTo: maxBodyBytes) } catch {
            throw KeywardError(.badGateway, .upstreamUnavailable, "The upstream answer was cut short or exceeds \(maxBodyBytes) bytes.")
        }
        let jwe = try JWE.encrypt(Array(buffer: answer), to: session.merchantKey, algorithm: session.algorithm, encryption: .a256GCM)
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.contentLength] = nil
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: jwe)))
    }

    static func checkAPIVersion(_ request: Request) throws {
        guard let version = request.headers[.allianceAPIVersion], version == "1" || version.uppercased() == "V1" else {
            throw KeywardError(.invalidInput, .unsupportedAPIVersion, "Send x-api_version: 1 (or V1).")
        }
    }
}

struct AuthorizeDeviceBody: StrictJSONBody {
    static let fields: Set<String> = ["serviceCode"]
    let serviceCode: String
}

/// `/cipher/encrypt_by_jwk` and `/cipher/decrypt_by_jwk`: test-mode helpers so a developer can check
/// their JOSE setup against Keyward. Live credentials get 403 and nothing is done.
struct CipherHelperController {
    let jweKeys: JWEKeyService
    let clock: KeywardClock

    func addRoutes(to group: RouterGroup<KeywardRequestContext>) {
        for method in [HTTPRequest.Method.get, .post] {
            group.on("encrypt_by_jwk", method: method) { (request: Request, context: KeywardRequestContext) -> Response in
                let key = try Self.testMode(context)
                let message = try Self.message(request)
                var request = request
                let body = try await Self.body(&request)
                let recipient: JWK
                if !body.isEmpty {
                    recipient = try Self.jwk(body, allowPrivate: false)
                } else {
                    let kid = request.uri.queryParameters["kid"].map(String.init)
                    let now = clock.now()
                    let keys = try await jweKeys.list(merchantID: key.merchantID, mode: .test).filter { $0.status(at: now).isUsable }
                    guard let chosen = kid.map({ kid in keys.first { $0.kid == kid } }) ?? keys.first else {
                        throw KeywardError(
                            .notFound,
                            .resourceMissing,
                            "No active test JWK\(kid.map { " with kid '\($0.prefix(64))'" } ?? ""); send a public JWK in the body."
                        )
                    }
                    recipient = try JWK.parse(chosen.publicJWK)
                }
                var json = FlatJSON()
                json.add("jwe", try JWE.encrypt(Array(message.utf8), to: recipient))
                return json.response()
            }
            group.on("decrypt_by_jwk", method: method) { (request: Request, context: KeywardRequestContext) -> Response in
                _ = try Self.testMode(context)
                let message = try Self.message(request)
                var request = request
                let body = try await Self.body(&request)
                // The session's own key when called with a session; otherwise the (test) private JWK in the body, used once and forgotten.
                let recipient: JWK
                if body.isEmpty, let session = context.session {
                    recipient = session.serverKey
                } else {
                    recipient = try Self.jwk(body, allowPrivate: true)
                }
                let plaintext: [UInt8]
                do { plaintext = try JWE.decrypt(message, with: recipient).plaintext } catch let error as JOSEError {
                    throw KeywardError(.invalidInput, error.code, error.message, field: "message")
                }
                var json = FlatJSON()
                json.add("message", String(decoding: plaintext, as: UTF8.self))
                return json.response()
            }
        }
    }

    static func testMode(_ context: KeywardRequestContext) throws -> AuthenticatedKey {
        let key = try context.requireKey()
        guard key.mode == .test else {
            throw KeywardError(.forbidden, .testModeOnly, "The cipher helpers work with test credentials only; nothing was done.")
        }
        return key
    }

    static func message(_ request: Request) throws -> String {
        guard let message = request.uri.queryParameters["message"].map(String.init), !message.isEmpty else {
            throw KeywardError(.invalidInput, .missingField, "Pass the text in the 'message' query parameter.", field: "message")
        }
        return message
    }

    static func body(_ request: inout Request) async throws -> String {
        do { return String(buffer: try await request.collectBody(upTo: JWK.maximumBytes)).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
            throw KeywardError(.tooLarge, .bodyTooLarge, "A JWK is at most \(JWK.maximumBytes) bytes.")
        }
    }

    static func jwk(_ text: String, allowPrivate: Bool) throws -> JWK {
        do { return try JWK.parse(text, allowPrivate: allowPrivate) } catch {
            throw KeywardError(.invalidInput, error.code, error.message, field: "jwk")
        }
    }
}
