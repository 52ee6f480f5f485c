import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardServer
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

/// Attacks on the listeners themselves: sockets that never speak, heads sent a byte at a time, and more
/// connections than the listener allows. All over loopback.
@Suite(.closesStores) struct ListenerLimitsTests {
    static func limits(_ adjust: (inout ListenerLimits) -> Void) -> ListenerLimits {
        var limits = ListenerLimits()
        limits.idleTimeout = .seconds(30)
        limits.headerReadTimeout = .seconds(30)
        limits.tlsHandshakeTimeout = .seconds(30)
        adjust(&limits)
        return limits
    }

    /// A plain HTTP application on a free port with `limits`, answering `GET /` with `ok`.
    static func plainApp(_ limits: ListenerLimits, logger: Logger = Harness.logger) throws -> some ApplicationProtocol {
        let router = Router()
        router.get("/") { _, _ in "ok" }
        return Application(
            router: router,
            server: try limitedHTTPServer(limits: limits, tls: nil, name: "HTTP", logger: logger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
    }

    @Test func aSocketThatNeverSpeaksIsClosedAfterTheIdleTimeout() async throws {
        let app = try Self.plainApp(Self.limits { $0.idleTimeout = .seconds(1) })
        _ = try await app.test(.live) { client in
            let silent = try await RawConnection.open(port: try #require(client.port))
            // Bounds in this file are "eventually" bounds, generous for a loaded machine: without the limit
            // the connection would stay open for good.
            #expect(try await silent.closed(within: .seconds(60)))
        }
    }

    @Test func aHeadSentAByteAtATimeIsClosedAfterTheHeaderReadTimeout() async throws {
        let app = try Self.plainApp(Self.limits { $0.headerReadTimeout = .seconds(1) })
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            let slow = try await RawConnection.open(port: port)
            try await slow.send("GET / HTTP/1.1\r\nHost: localhost\r\n")
            // Slowloris: keep the connection busy (so an idle timeout would never fire) without finishing the
            // head, for up to a minute; the 1 s header-read deadline must end it.
            var closed = false
            for index in 0..<200 where !closed {
                try? await slow.send("X-Slow-\(index): a\r\n")
                closed = try await slow.closed(within: .milliseconds(300))
            }
            #expect(closed)

            // A client that sends whole requests keeps its connection past the header-read timeout between them.
            let polite = try await RawConnection.open(port: port)
            try await polite.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await polite.received(containing: "ok", within: .seconds(60)))
            try await Task.sleep(for: .milliseconds(1500))
            try await polite.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await polite.received(containing: "ok", count: 2, within: .seconds(60)))
            await polite.close()
        }
    }

    @Test func aTLSHandshakeThatNeverHappensIsClosedAfterTheHandshakeTimeout() async throws {
        let settings = Harness.settings {
            $0.listenerLimits.tlsHandshakeTimeout = .seconds(1)
            $0.listenerLimits.idleTimeout = .seconds(600)
        }
        let app = try await Harness.app(settings)
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            let silent = try await RawConnection.open(port: port)
            // Within 120 s, a fifth of the 600 s idle timeout that would otherwise close it: the handshake
            // deadline did. (How soon is for Benchmarks/limits.py: in the parallel suite the two event loops
            // that run the 1 s timer also run every other test's servers and database traffic; CI saw the
            // timer fire 8 s late, and once more than 30 s.)
            #expect(try await silent.closed(within: .seconds(120)))
            // Half a ClientHello, then nothing: the same.
            let stalled = try await RawConnection.open(port: port)
            try await stalled.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
            #expect(try await stalled.closed(within: .seconds(120)))
            // A real TLS client still gets through.
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(settings.dataDirectory + "/ca.pem")
            let trusting = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            let response = try await trusting.execute(HTTPClientRequest(url: "https://localhost:\(port)/healthz"), timeout: .seconds(10))
            #expect(response.status.code == 200)
            try await trusting.shutdown()
        }
    }

    @Test func connectionsOverTheCapAreClosedAndSaidOnceInTheLog() async throws {
        let lines = LogLines()
        var logger = Logger(label: "limits") { _ in CollectingLogHandler(sink: lines) }
        logger.logLevel = .notice
        let app = try Self.plainApp(Self.limits { $0.maxConnections = 5 }, logger: logger)
        _ = try await app.test(.live) { client in
            let port = try #require(client.port)
            // The test client holds one connection of the five.
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
            var held: [RawConnection] = []
            for _ in 0..<4 { held.append(try await RawConnection.open(port: port)) }
            try await Task.sleep(for: .milliseconds(300))
            for connection in held { #expect(try await !connection.closed(within: .milliseconds(10))) }
            var extra: [RawConnection] = []
            for _ in 0..<6 { extra.append(try await RawConnection.open(port: port)) }
            for connection in extra { #expect(try await connection.closed(within: .seconds(60))) }
            let full = lines.matching("reached its connection limit")
            #expect(full.count == 1, "one line per episode, not one per refused connection: \(full)")

            // Below the cap again, an ordinary request works.
            await held[0].close()
            await held[1].close()
            // Wait until the server has seen the closes (it says so), not a fixed time: on a loaded machine
            // 300 ms was not enough, and the new connection was refused as over the cap.
            for _ in 0..<600 where lines.matching("below its connection limit again").isEmpty {
                try await Task.sleep(for: .milliseconds(100))
            }
            let ordinary = try await RawConnection.open(port: port)
            try await ordinary.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await ordinary.received(containing: "ok", within: .seconds(60)))
            #expect(lines.matching("below its connection limit again; 6 connection(s) were refused").count == 1)
            for connection in held.dropFirst(2) { await connection.close() }
            await ordinary.close()
        }
    }
}

/// A raw loopback TCP connection: bytes in, bytes out, and whether the server closed it.
struct RawConnection {
    let channel: any Channel
    let inbox: Inbox

    final class Inbox: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let text = Mutex("")
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            text.withLock { $0 += String(buffer: buffer) }
        }
    }

    static func open(port: Int) async throws -> RawConnection {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(inbox) } }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, inbox: inbox)
    }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    /// Whether the server closes the connection within `limit`.
    func closed(within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while channel.isActive {
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Whether `needle` has arrived `count` times within `limit`.
    func received(containing needle: String, count: Int = 1, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if inbox.text.withLock({ $0.components(separatedBy: needle).count - 1 }) >= count { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    func close() async { try? await channel.close() }
}

final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    func matching(_ text: String) -> [String] { lines.withLock { $0.filter { $0.contains(text) } } }
}

struct CollectingLogHandler: LogHandler {
    let sink: LogLines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        sink.lines.withLock { $0.append(message.description) }
    }
}
