import Foundation
import KeywardCore
import KeywardCrypto
import Mustache

/// What the alert banners at the top of a page say: certificates expired or about to, and keys a secret
/// scanner found in public during the last 14 days (which key, where, what was done; never the key).
struct CabinetBanner: Sendable {
    /// "1 certificate has expired and …", or nil.
    var certificates: String?
    /// One line per recent leak, newest first (at most `shownLeaks`).
    var leaks: [String] = []
    /// Leaks in the window beyond those listed.
    var moreLeaks = 0
    /// The mode of the newest leak: where the banner's link to the Keys page goes.
    var leakMode = Mode.live

    static let shownLeaks = 5

    var isEmpty: Bool { certificates == nil && leaks.isEmpty }

    /// The leak lines for `reports` (newest first) out of `total` in the window.
    static func leakLines(_ reports: [LeakReportInfo], total: Int) -> (lines: [String], more: Int) {
        let shown = reports.prefix(shownLeaks)
        let lines = shown.map { report -> String in
            let place = report.url.isEmpty ? "in public (\(report.source))" : "at \(report.url) (\(report.source))"
            let what: String =
                switch report.action {
                case .revoked: "Keyward revoked it."
                case .expiring:
                    report.expiresAt.map { "It stops working at \(CabinetDates.minute($0)): roll it or create a new key." }
                        ?? "It stops working soon."
                case .alreadyRevoked: "It was already revoked."
                case .alreadyExpired: "It had already expired."
                }
            return
                "Your \(report.mode.rawValue) secret key “\(report.keyName)” (…\(report.last4)) was found \(place) on \(CabinetDates.minute(report.reportedAt)). \(what)"
        }
        return (Array(lines), max(0, total - shown.count))
    }
}

// Names here must differ from CabinetPage's: a nil child falls through to the page (a `certificates`
// here would render the page's certificate rows when there is no certificate alert).
extension CabinetBanner: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "certificateAlert": certificates
        case "leaks": leaks
        case "hasLeaks": !leaks.isEmpty
        case "moreLeaks": moreLeaks > 0 ? moreLeaks : nil
        case "leakMode": leakMode.rawValue
        default: nil
        }
    }
}

extension CabinetController {
    /// Recent leaks of the merchant's keys, for the banner.
    func leakBanner(merchantID: String, now: Date, into banner: inout CabinetBanner) async throws {
        let since = now.addingTimeInterval(-Double(LeakedKeyService.bannerDays) * 86400)
        let (reports, total) = try await services.leakedKeys.recent(merchantID: merchantID, since: since, limit: CabinetBanner.shownLeaks)
        (banner.leaks, banner.moreLeaks) = CabinetBanner.leakLines(reports, total: total)
        banner.leakMode = reports.first?.mode ?? .live
    }
}
