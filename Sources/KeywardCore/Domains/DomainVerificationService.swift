import Foundation
import KeywardCrypto
import SQLKit

/// How often domains are checked and when a verified one lapses.
public struct DomainVerificationPolicy: Sendable, Equatable {
    /// A verified domain is checked again this often (`verification_recheck_hours`).
    public var recheckInterval: TimeInterval = 24 * 3600
    /// After a failed re-check of a verified domain, the next comes sooner than `recheckInterval`.
    public var failedRecheckInterval: TimeInterval = 6 * 3600
    /// A verified domain lapses after this many consecutive failed checks...
    public var lapseFailures = 3
    /// ...spanning at least this long (a DNS hiccup or a deploy never unverifies a domain).
    public var lapseAfter: TimeInterval = 24 * 3600
    /// Unverified domains are retried on their own after 1 minute, doubling up to this.
    public var pendingRetryMaximum: TimeInterval = 3600
    /// "Check now" re-uses a check younger than this instead of sending another.
    public var minimumCheckInterval: TimeInterval = 10

    public init() {}

    func pendingRetry(failures: Int) -> TimeInterval {
        min(pendingRetryMaximum, 60 * pow(2, Double(min(max(failures - 1, 0), 20))))
    }
}

/// Domain verification: a channel's domain serves nothing (no SNI certificate, no ACME order, no Apple
/// Pay file) until its merchant proves control of it, by a TXT record at `_keyward-challenge.<domain>`
/// or by serving the token over HTTP from the domain's current host. Verified domains are re-checked
/// and lapse after repeated failures; the server's own names and the operator's deny list can never
/// be verified; a domain verified by one merchant cannot be verified by another.
public struct DomainVerificationService: Sendable {
    let store: KeywardStore
    let changes: CredentialChanges
    public let reserved: ReservedDomains
    let checker: any DomainControlChecker
    let audit: AuditLog?
    public let policy: DomainVerificationPolicy
    let clock: KeywardClock

    /// How long a claimed check may run before another instance may take it over.
    public static let lease: TimeInterval = 5 * 60

    public init(
        store: KeywardStore,
        changes: CredentialChanges,
        reserved: ReservedDomains,
        checker: any DomainControlChecker,
        audit: AuditLog? = nil,
        policy: DomainVerificationPolicy = DomainVerificationPolicy(),
        clock: KeywardClock = .system
    ) {
        self.store = store
        self.changes = changes
        self.reserved = reserved
        self.checker = checker
        self.audit = audit
        self.policy = policy
        self.clock = clock
    }

    /// The same service with another checker (tests reach a local HTTP server on its own port this way).
    public func using(checker: any DomainControlChecker) -> DomainVerificationService {
        DomainVerificationService(store: store, changes: changes, reserved: reserved, checker: checker, audit: audit, policy: policy, clock: clock)
    }

    /// The merchant's verification records for `domains`, in that order (a domain without one is left out).
    public func records(merchantID: String, domains: [String]) async throws -> [DomainVerification] {
        let rows = Dictionary(try await DomainClaims.records(store.sql, merchantID: merchantID, domains: domains).map { ($0.domain, $0.info) }) {
            first,
            _ in first
        }
        return domains.compactMap { rows[$0] }
    }

    /// Checks every domain of the channel now (the API's and the cabinet's "Check now"; `merchantID`
    /// nil for operators) and answers where each stands. A domain checked in the last few seconds is
    /// not checked again.
    public func checkChannel(merchantID: String?, mode: Mode?, channelID: String, actor: AuditActor = .system) async throws -> [DomainVerification] {
        let channel = try await SalesChannelService.row(store.sql, merchantID: merchantID, mode: mode, id: channelID)
        let domains = JSONText.decode([String].self, channel.domains) ?? []
        let now = clock.now()
        let due = try await DomainClaims.records(store.sql, merchantID: channel.merchant_id, domains: domains).filter { row in
            // Operator-vouched domains are not checked; a domain checked a moment ago is not asked again.
            guard row.status != DomainVerificationStatus.verified.rawValue || row.method != VerificationMethod.operator.rawValue else { return false }
            return row.last_checked_ms.map { now.millis - $0 >= Int64(policy.minimumCheckInterval * 1000) } ?? true
        }
        for start in stride(from: 0, to: due.count, by: 8) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for row in due[start..<min(start + 8, due.count)] { group.addTask { try await self.check(row, actor: actor) } }
                try await group.waitForAll()
            }
        }
        return try await records(merchantID: channel.merchant_id, domains: domains)
    }

    /// Marks the channel's domains (or those named) verified without a check: for platform operators
    /// (`keyward channel verify --force`), never reachable by an API caller. Reserved names and domains
    /// another merchant verified are still refused. Operator-verified domains are not re-checked.
    public func force(channelID: String, domains only: [String]? = nil, actor: AuditActor) async throws -> [DomainVerification] {
        let channel = try await SalesChannelService.row(store.sql, merchantID: nil, mode: nil, id: channelID)
        let domains = JSONText.decode([String].self, channel.domains) ?? []
        var chosen = domains
        if let only {
            chosen = try only.map { try DomainName.normalize($0, allowWildcard: true) }
            let foreign = chosen.filter { !domains.contains($0) }
            guard foreign.isEmpty else {
                throw KeywardError.invalid(
                    .unknownDomain,
                    "\(foreign.joined(separator: ", ")) is not a domain of channel \(channelID).",
                    field: "domains"
                )
            }
        }
        for domain in chosen { try reserved.check(domain) }
        let taken = try await DomainClaims.verifiedElsewhere(store.sql, merchantID: channel.merchant_id, domains: chosen)
        guard taken.isEmpty else { throw Self.taken(taken) }
        let now = clock.now()
        for row in try await DomainClaims.records(store.sql, merchantID: channel.merchant_id, domains: chosen) {
            try await markVerified(row, method: .operator, now: now, nextCheck: nil, actor: actor)
        }
        return try await records(merchantID: channel.merchant_id, domains: domains)
    }

    static func taken(_ domains: [String]) -> KeywardError {
        KeywardError(
            .conflict,
            .domainTaken,
            "\(domains.joined(separator: ", ")) is verified by another merchant; a domain is served for one merchant only.",
            field: "domains"
        )
    }

    /// Runs one check of `row` and records what came of it.
    func check(_ row: DomainVerificationRow, actor: AuditActor) async throws {
        let now = clock.now()
        if let reason = reserved.reason(for: row.domain) {
            return try await markFailed(row, reasons: [reason], now: now, lapseAtOnce: true, actor: actor)
        }
        if try await !DomainClaims.verifiedElsewhere(store.sql, merchantID: row.merchant_id, domains: [row.domain]).isEmpty {
            return try await markFailed(row, reasons: ["\(row.domain) is verified by another merchant."], now: now, lapseAtOnce: true, actor: actor)
        }
        let result = await checker.check(domain: row.domain, token: row.token)
        let checkedAt = clock.now()
        if let method = result.method {
            try await markVerified(row, method: method, now: checkedAt, nextCheck: checkedAt.addingTimeInterval(policy.recheckInterval), actor: actor)
        } else {
            try await markFailed(row, reasons: result.reasons, now: checkedAt, lapseAtOnce: false, actor: actor)
        }
    }

    func markVerified(_ row: DomainVerificationRow, method: VerificationMethod, now: Date, nextCheck: Date?, actor: AuditActor) async throws {
        let wasVerified = row.status == DomainVerificationStatus.verified.rawValue
        let write: @Sendable (any SQLDatabase) async throws -> Void = { sql in
            try await sql.update("domain_verifications").set("status", to: DomainVerificationStatus.verified.rawValue).set(
                "method",
                to: method.rawValue
            )
            .set("failures", to: Int64(0)).set("first_failure_ms", to: Int64?.none).set("last_error", to: String?.none)
            .set("last_checked_ms", to: now.millis).set("next_check_ms", to: nextCheck?.millis).set(
                "verified_ms",
                to: wasVerified ? row.verified_ms ?? now.millis : now.millis
            )
            .set("updated_ms", to: now.millis).where("id", .equal, row.id).run()
            guard !wasVerified, let channel = try await DomainClaims.claimingChannel(sql, merchantID: row.merchant_id, domain: row.domain) else {
                return
            }
            try await ChannelEvents.record(
                sql,
                channel: channel.id,
                merchant: row.merchant_id,
                at: now,
                kind: "domain_verified",
                message: "\(row.domain) verified (\(Self.describe(method)))."
            )
            try await DomainClaims.refreshChannel(sql, channel: channel, now: now)
        }
        guard !wasVerified else { return try await write(store.sql) }
        do {
            // A change: the SNI caches of every instance are emptied.
            try await changes.commit(in: store, write)
        } catch {
            // The unique index allows one verified record per domain: another merchant got there first.
            let taken = try await DomainClaims.verifiedElsewhere(store.sql, merchantID: row.merchant_id, domains: [row.domain])
            guard !taken.isEmpty else { throw error }
            return try await markFailed(row, reasons: ["\(row.domain) is verified by another merchant."], now: now, lapseAtOnce: true, actor: actor)
        }
        let channelID = try await DomainClaims.claimingChannel(store.sql, merchantID: row.merchant_id, domain: row.domain)?.id
        try await audit?.record(
            merchantID: row.merchant_id,
            actor: actor,
            action: .domainVerified,
            detail: "\(row.domain) (\(method.rawValue))",
            targetID: channelID
        )
    }

    /// A failed check. An unverified domain is retried after a backoff. A verified one stays verified
    /// until `lapseFailures` consecutive failures spanning `lapseAfter` (or at once when `lapseAtOnce`:
    /// the name became reserved, or another merchant holds it), then it lapses: nothing is served.
    func markFailed(_ row: DomainVerificationRow, reasons: [String], now: Date, lapseAtOnce: Bool, actor: AuditActor) async throws {
        let failures = Int(row.failures) + 1
        let firstFailure = row.first_failure_ms ?? now.millis
        let reason = String(reasons.joined(separator: " ").prefix(1000))
        let wasVerified = row.status == DomainVerificationStatus.verified.rawValue
        let lapses =
            wasVerified && (lapseAtOnce || (failures >= policy.lapseFailures && now.millis - firstFailure >= Int64(policy.lapseAfter * 1000)))
        let stillVerified = wasVerified && !lapses
        let next =
            stillVerified
            ? now.addingTimeInterval(min(policy.recheckInterval, policy.failedRecheckInterval))
            : now.addingTimeInterval(policy.pendingRetry(failures: failures))
        let write: @Sendable (any SQLDatabase) async throws -> Void = { sql in
            try await sql.update("domain_verifications").set("status", to: (stillVerified ? DomainVerificationStatus.verified : .failed).rawValue)
                .set("failures", to: Int64(failures)).set("first_failure_ms", to: firstFailure).set("last_error", to: reason)
                .set("last_checked_ms", to: now.millis).set("next_check_ms", to: next.millis).set("updated_ms", to: now.millis)
                .where("id", .equal, row.id).run()
            guard wasVerified, let channel = try await DomainClaims.claimingChannel(sql, merchantID: row.merchant_id, domain: row.domain) else {
                return
            }
            if lapses {
                try await ChannelEvents.record(
                    sql,
                    channel: channel.id,
                    merchant: row.merchant_id,
                    at: now,
                    kind: "domain_unverified",
                    message: "\(row.domain) is no longer verified and no longer served: \(reason)"
                )
                try await DomainClaims.refreshChannel(sql, channel: channel, now: now)
            } else {
                try await ChannelEvents.record(
                    sql,
                    channel: channel.id,
                    merchant: row.merchant_id,
                    at: now,
                    kind: "domain_check_failed",
                    message:
                        "Re-check \(failures) of \(row.domain) failed (it lapses after \(policy.lapseFailures) failures over \(Int(policy.lapseAfter / 3600)) h): \(reason)"
                )
            }
        }
        guard lapses else { return try await write(store.sql) }
        try await changes.commit(in: store, write)
        let channelID = try await DomainClaims.claimingChannel(store.sql, merchantID: row.merchant_id, domain: row.domain)?.id
        try await audit?.record(
            merchantID: row.merchant_id,
            actor: actor,
            action: .domainVerificationLapsed,
            detail: row.domain,
            targetID: channelID,
            outcome: String(reason.prefix(200))
        )
    }

    static func describe(_ method: VerificationMethod) -> String {
        switch method {
        case .dns: "TXT record at _keyward-challenge"
        case .http: "HTTP token on the current host"
        case .operator: "vouched for by an operator"
        }
    }
}
