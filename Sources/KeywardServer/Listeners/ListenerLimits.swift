import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NIOSSL
import NIOTLS
import Synchronization

/// Connection limits of one listener: how long a connection may sit idle, take to send a request head
/// or finish its TLS handshake, and how many may be open at once.
public struct ListenerLimits: Sendable {
    /// A keep-alive connection with no request in progress is closed after this long (Hummingbird's idle timeout).
    public var idleTimeout: Duration = .seconds(60)
    /// From the first byte of a request to its complete head (slow-header clients are closed).
    public var headerReadTimeout: Duration = .seconds(10)
    /// From accepting a connection to a completed TLS handshake (HTTPS listener only).
    public var tlsHandshakeTimeout: Duration = .seconds(10)
    /// Connections open at once on this listener; more are closed as soon as they are accepted. An idle
    /// connection costs a few KiB, so the default holds thousands of slow or silent clients while verified
    /// calls still get in (the server raises its open-file limit to fit, see `FileDescriptorLimit`).
    public var maxConnections: Int = 8192

    public init() {}
}

/// Builds a listener's HTTP/1.1 server with the limits applied: Hummingbird's idle timeout, plus our
/// handshake and header-read deadlines and the connection cap, which Hummingbird lacks (its
/// `MaximumAvailableConnections` stops accepting instead, so excess clients wait unserved in the backlog).
/// `name` appears in the log line said when the cap is reached.
public func limitedHTTPServer(limits: ListenerLimits, tls: TLSConfiguration?, name: String, logger: Logger) throws -> HTTPServerBuilder {
    let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
    let gate = ConnectionGate(limit: limits.maxConnections, listener: name, logger: logger)
    return HTTPServerBuilder { responder in
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestBoundaryHandler()],
            idleTimeout: TimeAmount(limits.idleTimeout)
        )
        return LimitedHTTPChannel(
            base: HTTP1Channel(responder: responder, configuration: configuration),
            sslContext: sslContext,
            limits: limits,
            gate: gate
        )
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Counts a listener's open connections and says once, not per connection, when the cap is reached.
final class ConnectionGate: Sendable {
    private struct State {
        var open = 0
        var refusedSinceFull = 0
    }
    private let state = Mutex(State())
    let limit: Int
    let listener: String
    let logger: Logger

    init(limit: Int, listener: String, logger: Logger) {
        self.limit = limit
        self.listener = listener
        self.logger = logger
    }

    /// Whether a new connection may be served; if so it counts until `release`.
    func admit() -> Bool {
        enum Say {
            case nothing, full
            case recovered(Int)
        }
        let (admitted, say): (Bool, Say) = state.withLock { state in
            if state.open >= limit {
                state.refusedSinceFull += 1
                return (false, state.refusedSinceFull == 1 ? .full : .nothing)
            }
            state.open += 1
            let refused = state.refusedSinceFull
            state.refusedSinceFull = 0
            return (true, refused > 0 ? .recovered(refused) : .nothing)
        }
        switch say {
        case .nothing: break
        case .full:
            logger.warning(
                "\(listener) listener reached its connection limit (\(limit) open, max_connections): new connections are closed until some end"
            )
        case .recovered(let refused):
            logger.notice("\(listener) listener is below its connection limit again; \(refused) connection(s) were refused meanwhile")
        }
        return admitted
    }

    func release() { state.withLock { $0.open -= 1 } }

    var openConnections: Int { state.withLock { $0.open } }
}

/// HTTP/1.1 (over TLS when `sslContext` is set) behind the connection gate and the deadlines.
struct LimitedHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let sslContext: NIOSSLContext?
    let limits: ListenerLimits
    let gate: ConnectionGate

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = gate.admit()
        if admitted {
            channel.closeFuture.whenComplete { [gate] _ in gate.release() }
        }
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            // A refused connection still gets a pipeline (failing setup here is not a supported way to drop a
            // child channel), but is closed the moment it becomes active, before any byte is read.
            if !admitted { try pipeline.addHandler(CloseOnActiveHandler()) }
            let socket = SocketCloser()
            try pipeline.addHandler(socket)
            if let sslContext { try pipeline.addHandler(NIOSSLServerHandler(context: sslContext)) }
            try pipeline.addHandler(
                ConnectionDeadlineHandler(
                    handshakeTimeout: sslContext == nil ? nil : TimeAmount(limits.tlsHandshakeTimeout),
                    headerReadTimeout: TimeAmount(limits.headerReadTimeout),
                    socket: socket,
                    logger: logger
                )
            )
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes the connection as soon as it is active (the listener is at its cap).
final class CloseOnActiveHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// First in the pipeline, below TLS: closes the socket itself. A close issued above the TLS handler waits
/// for the peer's close_notify (TLS `shutdownTimeout`, 5 s), which a client that stalled its handshake or
/// request head never sends; a deadline's close is meant to take effect at once.
final class SocketCloser: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Closes the connection from below the TLS handler (call on the channel's event loop).
    func closeNow() { context?.close(promise: nil) }
}

/// Told by `RequestBoundaryHandler` (after the HTTP decoder) where requests begin and end.
enum RequestBoundary {
    case headReceived
    case responseFinished
}

/// Sent down a connection's pipeline by a handler that will not read the request body for a while (a
/// refusal waiting out its pause): the connection stops reading from the socket until released, so the
/// body waits in the client's socket (TCP flow control) instead of in our memory.
public enum ConnectionReads: Sendable {
    case hold
    case release
}

/// Sits after TLS and before the HTTP decoder. Closes a connection whose TLS handshake does not finish in
/// time, or whose request head is not complete within the header-read timeout of its first byte. Between
/// requests Hummingbird's idle timeout applies. Also holds the connection's reads when asked (`ConnectionReads`).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private enum Phase { case handshaking, betweenRequests, readingHead, inRequest }
    private var phase: Phase
    private var pendingResponses = 0
    /// While reads are held, a read asked for meanwhile is remembered and issued on release.
    private var readsHeld = false
    private var readPending = false
    private var deadline: Scheduled<Void>?
    private let handshakeTimeout: TimeAmount?
    private let headerReadTimeout: TimeAmount
    private let socket: SocketCloser
    private let logger: Logger

    init(handshakeTimeout: TimeAmount?, headerReadTimeout: TimeAmount, socket: SocketCloser, logger: Logger) {
        self.handshakeTimeout = handshakeTimeout
        self.headerReadTimeout = headerReadTimeout
        self.socket = socket
        self.logger = logger
        self.phase = handshakeTimeout == nil ? .betweenRequests : .handshaking
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshakeClock(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startHandshakeClock(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    private func startHandshakeClock(_ context: ChannelHandlerContext) {
        guard phase == .handshaking, deadline == nil, let handshakeTimeout else { return }
        schedule(context, after: handshakeTimeout, reason: "TLS handshake not completed")
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, phase == .handshaking {
            cancel()
            phase = .betweenRequests
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .betweenRequests {
            phase = .readingHead
            schedule(context, after: headerReadTimeout, reason: "request head not received in time")
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if readsHeld { readPending = true } else { context.read() }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let reads = event as? ConnectionReads {
            switch reads {
            case .hold:
                readsHeld = true
            case .release:
                readsHeld = false
                if readPending {
                    readPending = false
                    context.read()
                }
            }
            promise?.succeed(())
            return
        }
        guard let boundary = event as? RequestBoundary else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch boundary {
        case .headReceived:
            pendingResponses += 1
            cancel()
            phase = .inRequest
        case .responseFinished:
            pendingResponses = max(0, pendingResponses - 1)
            // Bytes of a pipelined request may already be here; its head re-arms nothing, which is the safe side.
            if pendingResponses == 0, phase == .inRequest { phase = .betweenRequests }
        }
        promise?.succeed(())
    }

    private func schedule(_ context: ChannelHandlerContext, after delay: TimeAmount, reason: String) {
        cancel()
        let loopBound = NIOLoopBound((socket: socket, logger: logger), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: delay) {
            loopBound.value.logger.debug("Closing connection: \(reason)")
            loopBound.value.socket.closeNow()
        }
    }

    private func cancel() {
        deadline?.cancel()
        deadline = nil
    }
}

/// After the HTTP decoder: tells `ConnectionDeadlineHandler` when a request head arrived and when its response ended.
final class RequestBoundaryHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { context.triggerUserOutboundEvent(RequestBoundary.headReceived, promise: nil) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if isEnd { context.triggerUserOutboundEvent(RequestBoundary.responseFinished, promise: nil) }
    }
}
