import AsyncHTTPClient
import Foundation
import KeywardCrypto
import NIOCore
import X509

/// When to renew: inside the CA's ARI window when it offers one (RFC 9773), otherwise at two thirds
/// of the certificate's lifetime; after a failure, back off one hour, doubling, capped at 32 hours.
public enum RenewalSchedule {
    /// The ARI certificate identifier (RFC 9773 §4.1): base64url(AKI key identifier) "." base64url(serial),
    /// or nil when the certificate has no authority key identifier.
    public static func certificateID(_ certificate: Certificate) -> String? {
        guard let aki = try? certificate.extensions.authorityKeyIdentifier?.keyIdentifier, !aki.isEmpty else { return nil }
        // The serial as DER INTEGER content: a 0x00 goes in front of a high first bit (swift-certificates
        // keeps the magnitude only).
        var serial = Array(certificate.serialNumber.bytes)
        if let first = serial.first, first >= 0x80 { serial.insert(0, at: 0) }
        return Base64URL.encode(Array(aki)) + "." + Base64URL.encode(serial)
    }

    /// The moment to renew. With an ARI window, a point inside it chosen by `fraction` (0..<1, random in
    /// production so a fleet does not renew at once); otherwise two thirds of the way from notBefore to notAfter.
    public static func renewalTime(notBefore: Date, notAfter: Date, window: RenewalWindow?, fraction: Double) -> Date {
        if let window, window.end > window.start {
            return window.start.addingTimeInterval(window.end.timeIntervalSince(window.start) * min(max(fraction, 0), 1))
        }
        return notBefore.addingTimeInterval(notAfter.timeIntervalSince(notBefore) * 2 / 3)
    }

    /// The wait before the next attempt after `failures` consecutive failures (1 h, 2 h, 4 h, ... 32 h).
    public static func backoff(failures: Int) -> TimeInterval {
        guard failures > 0 else { return 0 }
        return 3600 * pow(2, Double(min(failures - 1, 5)))
    }
}

extension ACMEClient {
    /// The CA's suggested renewal window for `certificate`, or nil when the CA has no ARI or cannot say.
    public func renewalWindow(for certificate: Certificate) async throws -> RenewalWindow? {
        guard let base = try await loadDirectory().renewalInfo, let id = RenewalSchedule.certificateID(certificate) else { return nil }
        let response = try await send(HTTPClientRequest(url: (base.hasSuffix("/") ? base : base + "/") + id))
        guard response.status == 200 else { return nil }
        return try decode(RenewalInfoResponse.self, response).suggestedWindow
    }

    /// Whether the CA offers ARI.
    public func offersRenewalInfo() async throws -> Bool { try await loadDirectory().renewalInfo != nil }
}
