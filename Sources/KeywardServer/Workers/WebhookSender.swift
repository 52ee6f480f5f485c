import AsyncHTTPClient
import Foundation
import KeywardCore
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one webhook request to a destination the policy has just checked, and to nothing else.
///
/// The host is resolved once (by the policy), every address it has is checked, and the connection goes
/// to the first checked address: AsyncHTTPClient's `dnsOverride` maps the URL's host to that address,
/// so the client never resolves the name again (a DNS answer that changes between the check and the
/// connection, "DNS rebinding", cannot move the request), while the request still carries the original
/// `Host` header and, over https, sends the name as SNI and verifies the certificate against the name.
/// Each send uses a client of its own, because `dnsOverride` is per client: the pool is then scoped to
/// one checked address and shut down after the attempt. Redirects are not followed (a 3xx is a failed
/// attempt), the response body is read to at most `maximumResponseBytes` and never recorded, and the
/// whole attempt has a deadline.
struct WebhookSender: Sendable {
    let policy: WebhookDestinationPolicy
    /// nil = the system's trust roots (tests add their own CA).
    var tlsConfiguration: TLSConfiguration?
    var timeout: TimeAmount = .seconds(10)
    var maximumResponseBytes = 64 * 1024

    /// What became of one attempt.
    enum Outcome: Sendable, Equatable {
        case delivered(status: Int)
        /// The reason, as stored with the delivery: `HTTP <status>` or `<error code>: <explanation>`.
        case failed(String)
    }

    func send(url: String, headers: [(String, String)], body: [UInt8]) async -> Outcome {
        let checked: CheckedWebhookDestination
        do {
            checked = try await policy.check(url)
        } catch let error as KeywardError {
            return .failed("\(error.code): \(error.message)")
        } catch {
            return .failed("webhook_destination_forbidden: the destination could not be checked")
        }
        let destination = checked.destination
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tlsConfiguration,
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: timeout),
            proxy: nil,
            decompression: .disabled
        )
        if case .name(let name) = destination.host { configuration.dnsOverride = [name: checked.connectAddress] }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let prepared = request
        let limit = maximumResponseBytes
        let deadline = NIODeadline.now() + timeout
        let outcome: Outcome
        do {
            outcome = try await Self.withDeadline(deadline) {
                let response = try await client.execute(prepared, deadline: deadline)
                // Read a little (so a small answer completes cleanly), then stop: the body is never kept.
                var read = 0
                for try await chunk in response.body {
                    read += chunk.readableBytes
                    if read >= limit { break }
                }
                let status = Int(response.status.code)
                if (200..<300).contains(status) { return .delivered(status: status) }
                if (300..<400).contains(status) { return .failed("HTTP \(status) (redirects are not followed)") }
                return .failed("HTTP \(status)")
            }
        } catch {
            outcome = .failed("unreachable: \(Self.code(for: error))")
        }
        try? await client.shutdown()
        return outcome
    }

    /// A stable code for a transport failure (never the error's text, which may quote the peer).
    static func code(for error: any Error) -> String {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout: return "connect_timeout"
            case .deadlineExceeded, .readTimeout, .writeTimeout: return "timeout"
            case .tlsHandshakeTimeout: return "tls_handshake_timeout"
            case .remoteConnectionClosed: return "connection_closed"
            default: return "http_error"
            }
        case is DeadlineExceeded: return "timeout"
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError: return "tls_failed"
        case is NIOConnectionError, is IOError, is ChannelError: return "connection_failed"
        default: return "connection_failed"
        }
    }

    struct DeadlineExceeded: Error {}

    /// Runs `operation`, cancelling it at `deadline` (the client's own deadline ends with the response head).
    static func withDeadline<T: Sendable>(_ deadline: NIODeadline, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                let now = NIODeadline.now()
                if deadline > now { try await Task.sleep(nanoseconds: deadline.uptimeNanoseconds - now.uptimeNanoseconds) }
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw DeadlineExceeded() }
            return value
        }
    }
}
