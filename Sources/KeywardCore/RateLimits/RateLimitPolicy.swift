import Foundation
import KeywardCrypto

/// How many verified requests a bucket may make per window: `quota` requests every `windowSeconds`.
/// Named as in draft-ietf-httpapi-ratelimit-headers (`RateLimit-Policy: "key";q=100;w=1`).
public struct RateLimitPolicy: Sendable, Equatable, Codable {
    /// The policy's name in the headers: `merchant` (all of a merchant's credentials in one mode) or
    /// `key` (one credential).
    public let name: String
    /// Requests allowed per window.
    public let quota: Int
    /// The window's length in seconds.
    public let windowSeconds: Int

    public init(name: String, quota: Int, windowSeconds: Int) {
        self.name = name
        self.quota = quota
        self.windowSeconds = windowSeconds
    }

    /// Quotas a merchant or key may set: at least one request, at most a million, per 1 to 3600 seconds.
    public static let quotaRange = 1...1_000_000
    public static let windowRange = 1...3600

    /// Stripe's defaults for a merchant without its own limit: 100 requests a second in live mode, 25 in
    /// test mode, for all of the merchant's credentials of that mode together (settings `rate_limit_live`,
    /// `rate_limit_test`).
    public static let stripeDefaults = (live: 100, test: 25)

    /// The value of `RateLimit-Policy` for this policy (RFC 8941 list member).
    public var headerItem: String { "\"\(name)\";q=\(quota);w=\(windowSeconds)" }

    /// A policy as a merchant sets it, checked.
    public static func validated(name: String, quota: Int, windowSeconds: Int) throws(KeywardError) -> RateLimitPolicy {
        guard quotaRange.contains(quota) else {
            throw KeywardError.invalid(.invalidRateLimit, "A rate limit's quota is 1 to 1,000,000 requests.", field: "quota")
        }
        guard windowRange.contains(windowSeconds) else {
            throw KeywardError.invalid(.invalidRateLimit, "A rate limit's window is 1 to 3600 seconds.", field: "window_seconds")
        }
        return RateLimitPolicy(name: name, quota: quota, windowSeconds: windowSeconds)
    }
}

/// What the limiter decided for one request under one policy.
public struct RateLimitDecision: Sendable, Equatable {
    public let policy: RateLimitPolicy
    /// Whether the request may go on.
    public let allowed: Bool
    /// Requests left in this window (at least 0), as this instance knows it.
    public let remaining: Int
    /// Seconds until the window resets (at least 1).
    public let resetSeconds: Int

    /// The value of the `RateLimit` header (draft-ietf-httpapi-ratelimit-headers).
    public var headerItem: String { "\"\(policy.name)\";r=\(remaining);t=\(resetSeconds)" }
}

/// A request refused because a rate limit is used up: 429 with `Retry-After` and the RateLimit headers.
public struct RateLimitExceeded: Error, Sendable {
    /// The decision that refused it (the policy that ran out).
    public let decision: RateLimitDecision
    /// Every policy that applied, for `RateLimit-Policy`.
    public let policies: [RateLimitPolicy]

    public init(decision: RateLimitDecision, policies: [RateLimitPolicy]) {
        self.decision = decision
        self.policies = policies
    }

    public var code: ErrorCode { .rateLimited }
    public var message: String {
        let scope = decision.policy.name == "key" ? "this credential" : "this merchant in this mode"
        return
            "Too many requests for \(scope): \(decision.policy.quota) per \(decision.policy.windowSeconds) s. Retry after \(decision.resetSeconds) s."
    }
}
