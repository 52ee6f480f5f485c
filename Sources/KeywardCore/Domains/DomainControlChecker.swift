import Foundation
import NIOCore

/// How a domain's control was proven.
public enum VerificationMethod: String, Sendable, Codable {
    /// A TXT record at `_keyward-challenge.<domain>` holds the token.
    case dns
    /// `http://<domain>/.well-known/keyward-domain-verification/<token>` answers the token.
    case http
    /// A platform operator vouched for it (`keyward channel verify --force`); never an API caller.
    case `operator`
}

/// What one check found: the method that proved control, or why each method failed.
public struct DomainCheckResult: Sendable, Equatable {
    public let method: VerificationMethod?
    public let reasons: [String]

    public static func verified(by method: VerificationMethod) -> DomainCheckResult { DomainCheckResult(method: method, reasons: []) }
    public static func failed(_ reasons: [String]) -> DomainCheckResult { DomainCheckResult(method: nil, reasons: reasons) }
}

/// Proves (or not) that whoever holds `token` controls `domain`. The network one is the product;
/// tests may bring their own.
public protocol DomainControlChecker: Sendable {
    func check(domain: String, token: String) async -> DomainCheckResult
}

/// The DNS record name for `domain` (a wildcard is proven at its base name, as ACME's DNS-01 does).
public enum DomainVerificationRecord {
    public static let prefix = "_keyward-challenge"
    public static func txtName(for domain: String) -> String { "\(prefix).\(DomainName.base(domain))" }
    public static func httpPath(token: String) -> String { HTTPTokenProbe.path(token: token) }
}

/// Checks by DNS first (a TXT record at `_keyward-challenge.<domain>` holding the token, asked of the
/// configured resolver), then by HTTP on the merchant's current host (not for wildcards: serving a file
/// on one name proves nothing about every name below it).
public struct NetworkDomainChecker: DomainControlChecker {
    let dns: DNSClient
    let probe: HTTPTokenProbe

    /// `httpPort` is 80 in production; tests (only through this Core API) point it at a local server.
    public init(resolver: DNSServerAddress, policy: OutboundAddressPolicy, httpPort: Int = 80, timeout: TimeAmount = .seconds(5)) {
        dns = DNSClient(server: resolver)
        probe = HTTPTokenProbe(dns: dns, policy: policy, port: httpPort, timeout: timeout)
    }

    public func check(domain: String, token: String) async -> DomainCheckResult {
        var reasons: [String] = []
        let name = DomainVerificationRecord.txtName(for: domain)
        do {
            let values = try await dns.txt(name).map { $0.trimmingCharacters(in: .whitespaces) }
            if values.contains(token) { return .verified(by: .dns) }
            reasons.append(
                values.isEmpty
                    ? "DNS: no TXT record at \(name)." : "DNS: the TXT record(s) at \(name) do not hold the token (\(values.count) other value(s))."
            )
        } catch {
            reasons.append("DNS: the TXT lookup of \(name) failed: \(error).")
        }
        if domain.hasPrefix("*.") {
            reasons.append("HTTP: a wildcard is verified by DNS only.")
            return .failed(reasons)
        }
        guard let failure = await probe.failure(domain: domain, token: token) else { return .verified(by: .http) }
        reasons.append("HTTP: " + failure)
        return .failed(reasons)
    }
}

/// The checker when no resolver is known (no `verification_dns_resolver`, nothing in /etc/resolv.conf):
/// every check fails and says why, rather than asking some resolver nobody chose.
public struct UnavailableDomainChecker: DomainControlChecker {
    public init() {}

    public func check(domain: String, token: String) async -> DomainCheckResult {
        .failed(["No DNS resolver is configured for domain verification (verification_dns_resolver)."])
    }
}
