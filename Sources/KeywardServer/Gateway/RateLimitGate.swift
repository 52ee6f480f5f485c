import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore

/// Counts every verified request against its merchant's and credential's rate limits, refuses it with
/// 429 when one is used up, and labels every answer with the draft-ietf-httpapi-ratelimit-headers fields
/// (`RateLimit-Policy` lists each policy that applied, `RateLimit` the one with the least room left).
/// Refused authentications are counted too, per address (`RefusalThrottle`).
struct RateLimitGate: Sendable {
    let limiter: RateLimiter
    let settings: RateLimitSettings
    let refusals: RefusalThrottle

    /// Runs a request's authentication; when it refuses the caller (401, or 403 from an allowlist), the
    /// refusal counts against the caller's address and waits out the throttle's pause if that is spent
    /// (then it is answered with `Retry-After`, see `PausedRefusal`).
    func authenticate<Verified>(_ context: KeywardRequestContext, _ verify: () async throws -> Verified) async throws -> Verified {
        do {
            return try await verify()
        } catch let error as KeywardError where error.kind == .unauthenticated || error.kind == .forbidden {
            guard let pause = refusals.refused(from: context.clientAddress) else { throw error }
            // The unread body waits in the client's socket, not in our memory, while the answer waits.
            context.connection.triggerUserOutboundEvent(ConnectionReads.hold, promise: nil)
            try? await Task.sleep(for: pause)
            context.connection.triggerUserOutboundEvent(ConnectionReads.release, promise: nil)
            throw PausedRefusal(refusal: error, pause: pause)
        }
    }

    /// Runs `handler` for a request verified as `key` when its limits allow, and adds the headers to
    /// whatever it answers (errors included: they are mapped to their problem here so they carry them too).
    func run(_ key: AuthenticatedKey, context: KeywardRequestContext, _ handler: () async throws -> Response) async throws -> Response {
        let policies: [RateLimitPolicy]
        do {
            policies = try await settings.policies(for: key)
        } catch {
            // The limits cannot be read: the defaults still apply (fail safe, not open and not shut).
            policies = [settings.defaultPolicy(key.mode)]
        }
        var decisions: [RateLimitDecision] = []
        for policy in policies {
            let bucket = policy.name == "key" ? "key:\(key.rateLimitSubject)" : "merchant:\(key.merchantID):\(key.mode.rawValue)"
            decisions.append(await limiter.take(bucket: bucket, policy: policy))
        }
        if let refused = decisions.first(where: { !$0.allowed }) {
            throw RateLimitExceeded(decision: refused, policies: policies)
        }
        var response: Response
        do {
            response = try await handler()
        } catch {
            response = ProblemMapping.map(error, context: context)
        }
        Self.label(&response.headers, policies: policies, decisions: decisions)
        return response
    }

    static func label(_ headers: inout HTTPFields, policies: [RateLimitPolicy], decisions: [RateLimitDecision]) {
        headers[.rateLimitPolicy] = policies.map(\.headerItem).joined(separator: ", ")
        if let tightest = decisions.min(by: { $0.remaining < $1.remaining }) {
            headers[.rateLimit] = tightest.headerItem
        }
    }

    /// The 429 answer: problem type `quota-exceeded` (IANA HTTP problem types), `Retry-After` in seconds.
    static func response(_ exceeded: RateLimitExceeded, requestID: String) -> Response {
        var response = Problem.response(
            KeywardError(.unavailable, exceeded.code, exceeded.message),
            requestID: requestID,
            type: "https://iana.org/assignments/http-problem-types#quota-exceeded",
            status: .tooManyRequests
        )
        response.headers[.retryAfter] = String(exceeded.decision.resetSeconds)
        label(&response.headers, policies: exceeded.policies, decisions: [exceeded.decision])
        return response
    }
}

extension HTTPField.Name {
    static let rateLimitPolicy = Self("RateLimit-Policy")!
    static let rateLimit = Self("RateLimit")!
}
