import Foundation
import NIOCore
import NIOPosix

/// The HTTP half of domain verification: `GET http://<domain>/.well-known/keyward-domain-verification/<token>`
/// from the merchant's current host must answer the token. The name is resolved by Keyward's own DNS
/// client and the connection goes to the address that was checked against the outbound policy (no
/// second lookup a rebinding DNS server could change). Plain HTTP only, redirects followed only to the
/// same host and port, a small read cap and a short deadline: the name is the merchant's choice, so
/// the request must not be a tool for reaching anything else.
struct HTTPTokenProbe: Sendable {
    let dns: DNSClient
    let policy: OutboundAddressPolicy
    /// 80 in production; tests reach a server on another loopback port through the Core API only.
    let port: Int
    let timeout: TimeAmount
    static let maximumResponseBytes = 16 * 1024
    static let maximumRedirects = 3

    static func path(token: String) -> String { "/.well-known/keyward-domain-verification/\(token)" }

    /// Nil when the host answered the token; otherwise why not, in words for the merchant.
    func failure(domain: String, token: String) async -> String? {
        let addresses: [[UInt8]]
        do { addresses = try await dns.addresses(domain) } catch { return "\(domain) could not be resolved: \(error)." }
        guard !addresses.isEmpty else { return "\(domain) has no A or AAAA record." }
        guard let address = addresses.first(where: policy.permits) else {
            return "\(domain) resolves to \(Self.describe(addresses[0])), an address verification does not connect to (not public)."
        }
        var path = Self.path(token: token)
        for _ in 0...Self.maximumRedirects {
            let response: Response
            do {
                response = try await get(address: address, host: domain, path: path)
            } catch let error as ProbeError {
                return "http://\(domain)\(Self.path(token: "…")): \(error.description)."
            } catch {
                return "http://\(domain)\(Self.path(token: "…")) could not be fetched (\(type(of: error)))."
            }
            if (300..<400).contains(response.status) {
                guard let location = response.location, let next = sameHostPath(location, domain: domain) else {
                    return "http://\(domain) redirected to another host or scheme; serve the token itself over plain HTTP."
                }
                path = next
                continue
            }
            guard response.status == 200 else { return "http://\(domain)\(Self.path(token: "…")) answered HTTP \(response.status)." }
            let body = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return body == token ? nil : "http://\(domain)\(Self.path(token: "…")) answered something other than the token."
        }
        return "http://\(domain) redirected more than \(Self.maximumRedirects) times."
    }

    /// The path of a redirect that stays on `http://domain` (same port), or nil.
    func sameHostPath(_ location: String, domain: String) -> String? {
        // Only printable ASCII goes into our request line.
        guard location.utf8.count <= 2048, location.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        if location.hasPrefix("/"), !location.hasPrefix("//") { return location }
        guard let url = URL(string: location), url.scheme?.lowercased() == "http", let host = url.host.flatMap(DomainName.host),
            host == domain, (url.port ?? 80) == port
        else { return nil }
        let path = url.path.isEmpty ? "/" : url.path
        return url.query.map { path + "?" + $0 } ?? path
    }

    struct Response {
        let status: Int
        let location: String?
        let body: [UInt8]
    }

    func get(address: [UInt8], host: String, path: String) async throws -> Response {
        let target = try SocketAddress(packedIPAddress: ByteBuffer(bytes: address), port: port)
        let request =
            "GET \(path) HTTP/1.1\r\nHost: \(host)\(port == 80 ? "" : ":\(port)")\r\nUser-Agent: Keyward-Domain-Verification\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: [UInt8].self)
        let limit = Self.maximumResponseBytes
        let timer = loop.scheduleTask(in: timeout) { promise.fail(ProbeError("no complete answer within \(timeout.nanoseconds / 1_000_000_000) s")) }
        defer { timer.cancel() }
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(limit: limit, promise: promise))
                    }
                }
                .connect(to: target).get()
        } catch {
            promise.fail(error)
            throw ProbeError("cannot connect to \(Self.describe(address)) port \(port)")
        }
        defer { channel.close(promise: nil) }
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        let bytes = try await promise.futureResult.get()
        guard let response = Self.parse(bytes) else { throw ProbeError("the answer is not HTTP/1.x") }
        return response
    }

    /// Status, `Location` and body (de-chunked) of a complete HTTP/1.x response.
    static func parse(_ bytes: [UInt8]) -> Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            guard let decoded = dechunk(body) else { return nil }
            body = decoded
        } else if let length = headers["content-length"].flatMap(Int.init), length >= 0, length <= body.count {
            body = Array(body.prefix(length))
        }
        return Response(status: status, location: headers["location"], body: body)
    }

    /// Whether `bytes` hold a whole response by its own framing (Content-Length, or the last chunk).
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let response = parse(bytes) else { return false }
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self).lowercased()
        if let range = text.range(of: "\r\ncontent-length:"), let lineEnd = text[range.upperBound...].firstIndex(of: "\r"),
            let length = Int(text[range.upperBound..<lineEnd].trimmingCharacters(in: .whitespaces))
        {
            return response.body.count >= length
        }
        return text.contains("\r\ntransfer-encoding: chunked") && bytes.suffix(5) == [48, 13, 10, 13, 10]
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            guard let lineEnd = (offset..<max(offset, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { return nil }
            let sizeText = String(decoding: bytes[offset..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return nil }
            if size == 0 { return out }
            let start = lineEnd + 2
            guard start + size <= bytes.count else { return nil }
            out += bytes[start..<start + size]
            offset = start + size + 2
        }
        return nil
    }

    static func describe(_ address: [UInt8]) -> String {
        address.count == 4 ? address.map(String.init).joined(separator: ".") : IPNetwork.formatIPv6(address)
    }
}

/// Why the HTTP check's request got no usable answer.
struct ProbeError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects a response until the server closes the connection, refusing more than `limit` bytes.
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let limit: Int
    let promise: EventLoopPromise<[UInt8]>
    var received: [UInt8] = []

    init(limit: Int, promise: EventLoopPromise<[UInt8]>) {
        self.limit = limit
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
        if received.count > limit {
            promise.fail(ProbeError("the answer is larger than \(limit / 1024) KiB"))
            context.close(promise: nil)
        } else if HTTPTokenProbe.isComplete(received) {
            // A server that keeps the connection open despite `Connection: close` is not waited for.
            promise.succeed(received)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(received)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
