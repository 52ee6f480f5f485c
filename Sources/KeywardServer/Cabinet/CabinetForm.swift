import Foundation
import Hummingbird
import KeywardCore

/// A file sent with a `multipart/form-data` cabinet form.
struct UploadedFile: Sendable, Equatable {
    /// The file's name on the member's computer (for messages only).
    let fileName: String
    let bytes: [UInt8]
}

/// What a cabinet form sent: text fields, and files for multipart forms.
struct CabinetFormData: Sendable {
    var fields: [String: String] = [:]
    var files: [String: [UploadedFile]] = [:]
}

/// Cabinet form bodies, read once and kept for the handler: `application/x-www-form-urlencoded` (at
/// most 64 KiB) or `multipart/form-data` for uploads (at most 1 MiB, 64 parts).
enum CabinetForm {
    static let maximumBytes = 64 * 1024
    static let maximumUploadBytes = 1024 * 1024

    static func read(_ request: inout Request) async throws -> [String: String] {
        try await readAll(&request).fields
    }

    static func readAll(_ request: inout Request) async throws -> CabinetFormData {
        let boundary = MultipartForm.boundary(contentType: request.headers[.contentType] ?? "")
        let limit = boundary == nil ? maximumBytes : maximumUploadBytes
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch {
            throw KeywardError(.tooLarge, "body_too_large", "This form is larger than the cabinet accepts (\(limit / 1024) KiB).")
        }
        if let boundary {
            return try MultipartForm.parse(Array(buffer: buffer), boundary: boundary)
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

/// `multipart/form-data` (RFC 7578) as browsers send it: parts separated by `--boundary`, each with a
/// `Content-Disposition: form-data; name="…"` header and, for files, a `filename`.
enum MultipartForm {
    static let maximumParts = 64

    /// The boundary of a `multipart/form-data` content type, or nil for any other type.
    static func boundary(contentType: String) -> String? {
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parameters.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parameters.dropFirst() where parameter.lowercased().hasPrefix("boundary=") {
            let value = parameter.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty ? nil : value
        }
        return nil
    }

    static func parse(_ body: [UInt8], boundary: String) throws -> CabinetFormData {
        let malformed = KeywardError(.invalidInput, "malformed_form", "The form's upload could not be read; please send it again.")
        let delimiter = Array("--\(boundary)".utf8)
        var form = CabinetFormData()
        guard var position = find(delimiter, in: body, from: 0) else { throw malformed }
        var parts = 0
        while true {
            position += delimiter.count
            // `--` after a delimiter closes the body.
            if body.count >= position + 2, body[position] == 0x2D, body[position + 1] == 0x2D { return form }
            guard body.count >= position + 2, body[position] == 0x0D, body[position + 1] == 0x0A else { throw malformed }
            position += 2
            guard let headerEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: position),
                  let next = find([0x0D, 0x0A] + delimiter, in: body, from: headerEnd + 4) else { throw malformed }
            parts += 1
            guard parts <= maximumParts else { throw KeywardError(.invalidInput, "malformed_form", "The form has too many parts.") }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let content = Array(body[(headerEnd + 4)..<next])
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }),
                  let name = parameter("name", in: disposition) else { throw malformed }
            if let fileName = parameter("filename", in: disposition) {
                if !(fileName.isEmpty && content.isEmpty) {   // browsers send an empty part for a file input left empty
                    form.files[name, default: []].append(UploadedFile(fileName: fileName, bytes: content))
                }
            } else {
                form.fields[name] = String(decoding: content, as: UTF8.self)
            }
            position = next + 2
        }
    }

    /// `name="value"` in a Content-Disposition header (quoted; browsers escape `"` as `%22`).
    static func parameter(_ key: String, in header: Substring) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard trimmed.lowercased().hasPrefix(key + "=") else { continue }
            var value = Substring(trimmed.dropFirst(key.count + 1))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return value.replacingOccurrences(of: "%22", with: "\"")
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
