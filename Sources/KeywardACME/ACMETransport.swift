import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One answer from the CA.
struct ACMEResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]
}

extension ACMEClient {
    static let maximumResponseBytes = 1 << 20
    static let badNonceRetries = 10

    func loadDirectory() async throws -> ACMEDirectory {
        if let directory { return directory }
        let response = try await send(HTTPClientRequest(url: configuration.directoryURL))
        guard response.status == 200 else {
            throw ACMEError(.acmeUnreachable, "The ACME directory answered HTTP \(response.status).", httpStatus: response.status)
        }
        let loaded = try decode(ACMEDirectory.self, response)
        directory = loaded
        return loaded
    }

    func nextNonce() async throws -> String {
        if let nonce = nonces.popLast() { return nonce }
        let directory = try await loadDirectory()
        var request = HTTPClientRequest(url: directory.newNonce)
        request.method = .HEAD
        _ = try await send(request)
        guard let nonce = nonces.popLast() else { throw ACMEError(.acmeBadResponse, "The CA's newNonce sent no Replay-Nonce.") }
        return nonce
    }

    /// A signed POST (`payload` nil = POST-as-GET). A `badNonce` refusal is retried with a fresh nonce;
    /// any other problem document becomes an `ACMEError` carrying the CA's type and detail.
    func post(_ url: String, payload: Data?, signedWithKID: Bool = true, accept: String? = nil) async throws -> ACMEResponse {
        var attempt = 0
        while true {
            attempt += 1
            let body = try accountKey.sign(url: url, nonce: try await nextNonce(), accountURL: signedWithKID ? accountURL : nil, payload: payload)
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/jose+json")
            if let accept { request.headers.add(name: "Accept", value: accept) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await send(request)
            if (200..<300).contains(response.status) { return response }
            let problem = try? JSONDecoder().decode(ACMEProblem.self, from: Data(response.body))
            if problem?.type == "urn:ietf:params:acme:error:badNonce", attempt <= Self.badNonceRetries { continue }
            let detail = problem?.detail ?? "HTTP \(response.status)"
            let sub = problem?.subproblems?.compactMap(\.detail).joined(separator: "; ")
            throw ACMEError(
                .acmeRejected,
                sub.map { $0.isEmpty ? detail : detail + " (" + $0 + ")" } ?? detail,
                problemType: problem?.type,
                httpStatus: response.status
            )
        }
    }

    func send(_ request: HTTPClientRequest) async throws -> ACMEResponse {
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: Self.maximumResponseBytes)
            if let nonce = response.headers.first(name: "Replay-Nonce") { nonces.append(nonce) }
            return ACMEResponse(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
        } catch let error as ACMEError {
            throw error
        } catch {
            throw ACMEError(.acmeUnreachable, "Cannot reach the CA at \(Self.hostOf(request.url)): \(Self.shortReason(error)).")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: ACMEResponse) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = ACMEDates.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 date"))
            }
            return date
        }
        do {
            return try decoder.decode(T.self, from: Data(response.body))
        } catch {
            throw ACMEError(
                .acmeBadResponse,
                "The CA's answer is not a valid \(String(describing: T.self).replacingOccurrences(of: "ACME", with: "")) document."
            )
        }
    }

    static func hostOf(_ url: String) -> String { URL(string: url)?.host ?? "the configured URL" }

    static func shortReason(_ error: Error) -> String {
        let text = String(describing: error)
        return text.count > 160 ? String(text.prefix(160)) + "…" : text
    }
}

/// RFC 3339 timestamps as CAs write them (with or without fractional seconds).
enum ACMEDates {
    static func parse(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }
}
