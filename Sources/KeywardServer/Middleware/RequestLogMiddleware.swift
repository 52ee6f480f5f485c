import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto
import Logging

/// Gives each request an id (a well-formed incoming `Keyward-Request-Id` or `X-Request-Id` is kept, so
/// a trace can span a load balancer) and logs one line per request: never headers, bodies or keys.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = KeywardRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[.keywardRequestID] ?? request.headers[.xRequestID]
        if let incoming, RequestIdentifier.isAcceptable(incoming) {
            context.requestID = incoming
        } else {
            context.requestID = RequestIdentifier.make()
        }
        // Every line logged for this request carries Keyward's id: Hummingbird's own tag is replaced (the
        // server's `KeywardLogHandler` prints it as `request_id`), so no line shows two ids.
        context.logger[metadataKey: "hb.request.id"] = .string(context.requestID)
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ProblemMapping.map(error, context: context)
        }
        response.headers[.keywardRequestID] = context.requestID
        let elapsed = ContinuousClock.now - start
        let level: Logger.Level = response.status.code >= 500 ? .error : .info
        context.logger.log(
            level: level,
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path.prefix(200))",
                "status": "\(response.status.code)",
                "ms": "\(RequestIdentifier.milliseconds(elapsed))",
            ]
        )
        return response
    }
}

enum RequestIdentifier {
    /// Incoming ids are kept only if short and made of `[A-Za-z0-9_-]`, so they are safe in logs.
    static func isAcceptable(_ id: String) -> Bool {
        guard (8...64).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { c in
            let digit = c >= 0x30 && c <= 0x39
            let letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
            return digit || letter || c == 0x2d || c == 0x5f
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds / 1_000_000_000) / 1_000_000
    }

    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return "req_" + String(UInt64.random(in: .min ... .max, using: &generator), radix: 36)
    }
}
