import Foundation
import KeywardCrypto
import SQLKit

extension DomainVerificationService {
    /// What one pass of the background checks did.
    public struct RecheckReport: Sendable, Equatable {
        public var checked = 0
        public var verified = 0
        public var failed = 0
        public var lapsed = 0
        public init() {}
    }

    /// Claims up to `limit` records whose next check is due (unverified ones retried with backoff,
    /// verified ones every `recheckInterval`): each is pushed a lease into the future with a
    /// compare-and-set, so several instances never check the same record at once.
    func claimDue(limit: Int) async throws -> (claimed: [DomainVerificationRow], more: Bool) {
        let now = clock.now()
        let due = try await store.sql.select().column("*").from("domain_verifications").where("next_check_ms", .lessThanOrEqual, now.millis)
            .orderBy("next_check_ms").limit(limit).all(decoding: DomainVerificationRow.self)
        var claimed: [DomainVerificationRow] = []
        for row in due {
            guard let previous = row.next_check_ms else { continue }
            // The row comes back only to the instance whose update matched: re-reading it instead
            // would let two instances claiming in the same millisecond both see "their" lease.
            let mine = try await store.sql.update("domain_verifications").set("next_check_ms", to: now.addingTimeInterval(Self.lease).millis)
                .where("id", .equal, row.id).where("next_check_ms", .equal, previous)
                .returning(SQLLiteral.all).first(decoding: DomainVerificationRow.self)
            if let mine { claimed.append(mine) }
        }
        // (More may be due even when another instance took some of this page.)
        return (claimed, due.count == limit)
    }

    /// Runs every due check now (several at once) and waits for them.
    @discardableResult
    public func runDueChecks(limit: Int = 50, concurrency: Int = 8) async throws -> RecheckReport {
        var report = RecheckReport()
        while true {
            let (due, more) = try await claimDue(limit: limit)
            if due.isEmpty && !more { return report }
            for start in stride(from: 0, to: due.count, by: concurrency) {
                let batch = Array(due[start..<min(start + concurrency, due.count)])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for row in batch { group.addTask { try await self.check(row, actor: .system) } }
                    try await group.waitForAll()
                }
            }
            for row in try await DomainClaims.recordsByID(store.sql, ids: due.map(\.id)) {
                report.checked += 1
                let before = due.first { $0.id == row.id }?.status
                switch (before, row.status) {
                case (_, DomainVerificationStatus.verified.rawValue): report.verified += 1
                case (DomainVerificationStatus.verified.rawValue, _): report.lapsed += 1
                default: report.failed += 1
                }
            }
            if !more { return report }
        }
    }

    /// Lapses every verified domain that has become reserved (a name added to `reserved_domains` or
    /// `hostname` after it was verified). Run when the worker starts: settings change with a restart.
    @discardableResult
    public func lapseReservedDomains() async throws -> Int {
        var lapsed = 0
        var after = ""
        while true {
            let page = try await store.sql.select().column("*").from("domain_verifications").where(
                "status",
                .equal,
                DomainVerificationStatus.verified.rawValue
            )
            .where("id", .greaterThan, after).orderBy("id").limit(1000).all(decoding: DomainVerificationRow.self)
            for row in page {
                guard let reason = reserved.reason(for: row.domain) else { continue }
                try await markFailed(row, reasons: [reason], now: clock.now(), lapseAtOnce: true, actor: .system)
                lapsed += 1
            }
            guard let last = page.last, page.count == 1000 else { return lapsed }
            after = last.id
        }
    }
}

extension DomainClaims {
    static func recordsByID(_ sql: any SQLDatabase, ids: [String]) async throws -> [DomainVerificationRow] {
        guard !ids.isEmpty else { return [] }
        return try await sql.select().column("*").from("domain_verifications").where("id", .in, ids).all(decoding: DomainVerificationRow.self)
    }
}
