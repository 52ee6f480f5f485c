import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Forwards authenticated calls to the merchant API behind Keyward, streaming both bodies.
///
/// The caller's `Authorization` and any `Keyward-*` headers it sent are removed (a client must never be
/// able to claim an identity); Keyward's verified identity is added as `Keyward-Merchant-Id`,
/// `Keyward-Mode`, `Keyward-Key-Id`, `Keyward-Permissions`. Names are compared as CGI, WSGI and Rack
/// read them (case and `-`/`_` ignored), so `Keyward_Merchant_Id` is dropped too. The forwarding headers
/// (`X-Forwarded-For`, `Forwarded`, ...) are Keyward's own account of what it saw, never the client's.
/// Redirects are passed back, never followed.
final class UpstreamProxy: Service, Sendable {
    let baseURL: String
    let client: HTTPClient
    let maxBodyBytes: Int

    /// Headers that describe one hop, not the message (RFC 9110 §7.6.1), and `Host`, which the client sets.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host",
    ]

    /// Headers that carry a caller's credential: never forwarded (Keyward's verified identity replaces them).
    static let credentials: Set<String> = ["authorization", "x-refresh-token"]

    /// Headers that name the client or how it connected: Keyward sets the first three from what it saw
    /// itself; the others are dropped, as upstream stacks read them as the client's address.
    static let forwarding: Set<String> = [
        "x-forwarded-for", "x-forwarded-proto", "forwarded", "x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix",
        "x-real-ip", "x-client-ip", "true-client-ip", "x-original-forwarded-for", "client-ip",
    ]

    /// A header name as a CGI/WSGI/Rack application sees it: case-folded, `_` and `-` alike.
    static func normalized(_ name: String) -> String {
        String(name.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    /// Whether a client-sent header must not reach the upstream.
    static func isReserved(_ name: String) -> Bool {
        let name = normalized(name)
        return name.hasPrefix("keyward-") || credentials.contains(name) || forwarding.contains(name)
    }

    init(baseURL: String, maxBodyBytes: Int) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.maxBodyBytes = maxBodyBytes
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, decompression: .disabled)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }

    func forward(_ request: Request, context: KeywardRequestContext, key: AuthenticatedKey) async throws -> Response {
        let upstream = try await exchange(request, context: context, key: key)
        return Response(
            status: .init(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase),
            headers: Self.responseHeaders(upstream),
            body: ResponseBody(asyncSequence: upstream.body)
        )
    }

    /// Sends `request` upstream and returns the answer with its body not yet read.
    func exchange(_ request: Request, context: KeywardRequestContext, key: AuthenticatedKey) async throws -> HTTPClientResponse {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(maxBodyBytes) bytes.")
        }
        // Only origin-form targets ("/path?query") are appended to the upstream base URL, so no request
        // can steer the forwarded call to another host.
        guard request.uri.string.hasPrefix("/"), !request.uri.string.hasPrefix("//") else {
            throw KeywardError(.invalidInput, .badRequest, "The request target must be a path starting with '/'.")
        }
        var outgoing = HTTPClientRequest(url: baseURL + request.uri.string)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        // Headers the client named in `Connection` are hop-by-hop too (RFC 9110 §7.6.1).
        let named = Set(
            request.headers[values: .connection].flatMap { $0.split(separator: ",") }
                .map { Self.normalized($0.trimmingCharacters(in: .whitespaces)) }
        )
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || named.contains(Self.normalized(name)) || Self.isReserved(name) { continue }
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        outgoing.headers.add(name: "Keyward-Merchant-Id", value: key.merchantID)
        outgoing.headers.add(name: "Keyward-Mode", value: key.mode.rawValue)
        outgoing.headers.add(name: "Keyward-Key-Id", value: key.keyID)
        outgoing.headers.add(name: "Keyward-Auth-Scheme", value: key.scheme.rawValue)
        outgoing.headers.add(name: "Keyward-Permissions", value: key.permissions?.joined(separator: ",") ?? "*")
        outgoing.headers.add(name: "Keyward-Request-Id", value: context.requestID)
        if let address = context.clientAddress {
            let client = IPText.format(address)
            outgoing.headers.add(name: "X-Forwarded-For", value: client)
            // RFC 7239: an IPv6 node is quoted and bracketed.
            outgoing.headers.add(name: "Forwarded", value: address.count == 16 ? "for=\"[\(client)]\";proto=https" : "for=\(client);proto=https")
        }
        outgoing.headers.add(name: "X-Forwarded-Proto", value: "https")

        let length: HTTPClientRequest.Body.Length = request.headers[.contentLength].flatMap(Int64.init).map { .known($0) } ?? .unknown
        if request.method != .get && request.method != .head {
            outgoing.body = .stream(LimitedBody(base: request.body, limit: maxBodyBytes), length: length)
        }
        do {
            return try await client.execute(outgoing, timeout: .seconds(60), logger: context.logger)
        } catch let error as KeywardError {
            throw error
        } catch {
            context.logger.warning("upstream call failed", metadata: ["error_type": "\(type(of: error))"])
            throw KeywardError(.badGateway, .upstreamUnavailable, "The upstream API did not answer; retry later.")
        }
    }

    /// The upstream answer's headers minus hop-by-hop ones.
    static func responseHeaders(_ upstream: HTTPClientResponse) -> HTTPFields {
        var headers = HTTPFields()
        for header in upstream.headers where !hopByHop.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return headers
    }
}

/// A request body that stops with 413 once more than `limit` bytes have arrived (chunked uploads have
/// no Content-Length to check up front).
struct LimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let limit: Int
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            seen += chunk.readableBytes
            if seen > limit { throw KeywardError(.tooLarge, .bodyTooLarge, "The request body exceeds \(limit) bytes.") }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}

/// Textual form of address bytes.
enum IPText {
    static func format(_ bytes: [UInt8]) -> String {
        bytes.count == 4 ? bytes.map(String.init).joined(separator: ".") : IPNetwork.formatIPv6(bytes)
    }
}
