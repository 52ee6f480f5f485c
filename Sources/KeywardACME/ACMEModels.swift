import Foundation
import KeywardCrypto

/// Why an ACME exchange failed, with a stable code. `problemType` is the CA's RFC 8555 error type
/// (`urn:ietf:params:acme:error:...`) when it sent one; `detail` is the CA's own words, which name
/// domains and never secrets.
public struct ACMEError: Error, Sendable, CustomStringConvertible {
    /// `acme_unreachable`, `acme_bad_response`, `acme_rejected`, `acme_challenge_failed`, `acme_order_failed`, `acme_timeout`.
    public let code: ErrorCode
    public let detail: String
    public let problemType: String?
    public let httpStatus: Int?

    public init(_ code: ErrorCode, _ detail: String, problemType: String? = nil, httpStatus: Int? = nil) {
        self.code = code
        self.detail = detail
        self.problemType = problemType
        self.httpStatus = httpStatus
    }

    public var description: String {
        var text = "\(code): \(detail)"
        if let problemType { text += " (\(problemType.replacingOccurrences(of: "urn:ietf:params:acme:error:", with: "")))" }
        return text
    }

    /// Worth retrying later (the CA is down, rate limits, server errors), as opposed to a refusal that
    /// will repeat until someone changes something (a domain the CA will not issue for).
    public var isTransient: Bool {
        if code == .acmeUnreachable || code == .acmeTimeout { return true }
        if let httpStatus, httpStatus >= 500 || httpStatus == 429 { return true }
        return problemType?.hasSuffix(":rateLimited") == true || problemType?.hasSuffix(":serverInternal") == true
    }
}

/// An RFC 7807 problem document as ACME CAs send them.
struct ACMEProblem: Decodable, Sendable {
    let type: String?
    let detail: String?
    let subproblems: [ACMEProblem]?
}

/// The directory (RFC 8555 §7.1.1), with ARI's `renewalInfo` (RFC 9773).
struct ACMEDirectory: Decodable {
    let newNonce: String
    let newAccount: String
    let newOrder: String
    let revokeCert: String?
    let renewalInfo: String?
    let meta: Meta?

    struct Meta: Decodable {
        let externalAccountRequired: Bool?
        let termsOfService: String?
    }
}

/// An order (RFC 8555 §7.1.3).
public struct ACMEOrder: Decodable, Sendable {
    public let status: String
    public let identifiers: [Identifier]
    public let authorizations: [String]
    public let finalize: String
    public let certificate: String?
    let error: ACMEProblem?

    public struct Identifier: Codable, Sendable, Equatable {
        public let type: String
        public let value: String
    }
}

/// An authorization (RFC 8555 §7.1.4).
struct ACMEAuthorization: Decodable {
    let status: String
    let identifier: ACMEOrder.Identifier
    let challenges: [ACMEChallenge]
}

/// A challenge (RFC 8555 §8).
struct ACMEChallenge: Decodable {
    let type: String
    let url: String
    let status: String
    let token: String?
    let error: ACMEProblem?
}

/// ARI's answer (RFC 9773 §4.2): when the CA would like the certificate renewed.
public struct RenewalWindow: Decodable, Sendable, Equatable {
    public let start: Date
    public let end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }
}

struct RenewalInfoResponse: Decodable {
    let suggestedWindow: RenewalWindow
    let explanationURL: String?
}
