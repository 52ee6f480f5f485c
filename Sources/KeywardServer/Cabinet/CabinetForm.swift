import Foundation
import Hummingbird
import KeywardCore
import KeywardDialects

/// What a cabinet form sent: text fields, and files for multipart forms (read by KeywardDialects'
/// `MultipartForm`, which is fuzzed on its own).
typealias CabinetFormData = MultipartFormData

/// Cabinet form bodies, read once and kept for the handler: `application/x-www-form-urlencoded` (at
/// most 64 KiB) or `multipart/form-data` for uploads (at most 1 MiB, 64 parts).
enum CabinetForm {
    static let maximumBytes = 64 * 1024
    static let maximumUploadBytes = 1024 * 1024

    static func read(_ request: inout Request) async throws -> [String: String] {
        try await readAll(&request).fields
    }

    static func readAll(_ request: inout Request) async throws -> CabinetFormData {
        let contentType = request.headers[.contentType] ?? ""
        let boundary = MultipartForm.boundary(contentType: contentType)
        // Not read as a urlencoded form instead: the member would see a stale-form error for an upload.
        if boundary == nil, MultipartForm.isFormData(contentType: contentType) {
            throw KeywardError(.invalidInput, .malformedForm, "The form's upload has no usable boundary; please send it again.")
        }
        let limit = boundary == nil ? maximumBytes : maximumUploadBytes
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch {
            throw KeywardError(.tooLarge, .bodyTooLarge, "This form is larger than the cabinet accepts (\(limit / 1024) KiB).")
        }
        if let boundary {
            do { return try MultipartForm.parse(Array(buffer: buffer), boundary: boundary) } catch {
                throw KeywardError(.invalidInput, .malformedForm, error.reason)
            }
        }
        var form = CabinetFormData()
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard let name = parts.first else { continue }
            form.fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return form
    }
}
