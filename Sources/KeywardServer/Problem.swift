import Foundation
import HTTPTypes
import Hummingbird
import KeywardCore
import KeywardCrypto
import Logging

/// RFC 9457 problem details, the body of every error Keyward answers.
struct Problem: Encodable {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String
    let field: String?
    let requestID: String
    /// Every finding of a refused certificate upload.
    var findings: [CertificateFinding]?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code, field, findings
        case requestID = "request_id"
    }

    static func status(for kind: KeywardError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .invalidInput: .badRequest
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unavailable: .serviceUnavailable
        case .badGateway: .badGateway
        }
    }

    /// `type` and `status` override the defaults of the error's code and kind (a rate limit's 429 uses
    /// the registered `quota-exceeded` problem type).
    static func response(
        _ error: KeywardError,
        requestID: String,
        findings: [CertificateFinding]? = nil,
        type: String? = nil,
        status: HTTPResponse.Status? = nil
    ) -> Response {
        let status = status ?? self.status(for: error.kind)
        let problem = Problem(
            type: type ?? "urn:keyward:problem:\(error.code)",
            title: status.reasonPhrase,
            status: status.code,
            detail: error.message,
            code: error.code.rawValue,
            field: error.field,
            requestID: requestID,
            findings: findings
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(problem)) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"keyward\"" }
        if error.code == .serverBusy { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}

/// Turns every failure into problem+json with a stable code; an unexpected error becomes a 500 whose
/// body says nothing internal (the log line, keyed by request id, has the error type).
enum ProblemMapping {
    static func map(_ error: any Error, context: KeywardRequestContext) -> Response {
        switch error {
        case let error as KeywardError:
            return Problem.response(error, requestID: context.requestID)
        case let refusal as CertificateUploadRefusal:
            return Problem.response(
                KeywardError(.invalidInput, refusal.code, refusal.message),
                requestID: context.requestID,
                findings: refusal.findings
            )
        case let lockout as SecondFactorLockout:
            return Problem.response(lockout.problem, requestID: context.requestID)
        case let paused as PausedRefusal:
            var response = Problem.response(paused.refusal, requestID: context.requestID)
            response.headers[.retryAfter] = String(paused.retryAfterSeconds)
            return response
        case let wrong as MethodNotAllowed:
            var response = Problem.response(wrong.refusal, requestID: context.requestID, status: .methodNotAllowed)
            response.headers[.allow] = wrong.allow
            return response
        case let exceeded as RateLimitExceeded:
            return RateLimitGate.response(exceeded, requestID: context.requestID)
        case let error as any CodedError:
            // CertificateFileError, KeyImportError, JOSEError, HTTPSignatureError and WebAuthn's CodedInputError
            // were one type until they were split; any of them reaching the edge is still a 400 with its code.
            return Problem.response(KeywardError(.invalidInput, error.code, error.message), requestID: context.requestID)
        case let error as HTTPError:
            let mapped: KeywardError =
                switch error.status {
                case .notFound: KeywardError(.notFound, .notFound, "No such endpoint.")
                case .contentTooLarge: KeywardError(.tooLarge, .bodyTooLarge, "The request body is larger than this endpoint accepts.")
                case .methodNotAllowed: KeywardError(.invalidInput, .methodNotAllowed, "This endpoint does not accept that HTTP method.")
                default: KeywardError(.invalidInput, .badRequest, error.body ?? "The request could not be read.")
                }
            // The body's `status` is the one sent (RFC 9457 §3.1.3), 405 included.
            return Problem.response(mapped, requestID: context.requestID, status: error.status == .methodNotAllowed ? .methodNotAllowed : nil)
        case let error where StorageFailure.transientReason(error) != nil:
            // The database was busy (a lock, a full pool, a serialization failure): nothing changed, and the
            // same request a moment later succeeds. A 503 the client retries, not a 500 that looks like a bug.
            context.logger.warning(
                "storage busy",
                metadata: ["reason": "\(StorageFailure.transientReason(error) ?? "")"]
            )
            var response = Problem.response(
                KeywardError(.unavailable, .storageUnavailable, "The database is busy; retry in a second."),
                requestID: context.requestID
            )
            response.headers[.retryAfter] = "1"
            return response
        default:
            context.logger.error("unexpected error", metadata: ["error_type": "\(type(of: error))"])
            return Problem.response(
                KeywardError(.unavailable, .internalError, "Something went wrong on our side; quote the request id when asking for help."),
                requestID: context.requestID,
                status: .internalServerError
            )
        }
    }
}
