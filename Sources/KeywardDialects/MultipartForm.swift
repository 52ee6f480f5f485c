import Foundation

/// A file sent with a `multipart/form-data` form.
public struct UploadedFile: Sendable, Equatable {
    /// The file's name on the sender's computer (for messages only).
    public let fileName: String
    public let bytes: [UInt8]

    public init(fileName: String, bytes: [UInt8]) {
        self.fileName = fileName
        self.bytes = bytes
    }
}

/// What a form sent: text fields, and files for multipart forms.
public struct MultipartFormData: Sendable {
    public var fields: [String: String] = [:]
    public var files: [String: [UploadedFile]] = [:]

    public init() {}
}

/// `multipart/form-data` (RFC 7578) as browsers send it: parts separated by `--boundary`, each with a
/// `Content-Disposition: form-data; name="…"` header and, for files, a `filename`. A pure function of
/// the body's bytes (it lives here, not in the server, so that it can be fuzzed on its own).
public enum MultipartForm {
    /// A body that is not a multipart form this reader accepts; `reason` is safe to show.
    public struct Malformed: Error, Sendable, Equatable {
        public let reason: String
    }

    public static let maximumParts = 64
    /// RFC 2046 §5.1.1: a boundary is 1 to 70 characters. A longer one is refused, because every
    /// search for the delimiter costs its length at each position of the body.
    public static let maximumBoundaryLength = 70

    /// The boundary of a `multipart/form-data` content type, or nil for any other type (or a boundary
    /// RFC 2046 does not allow: empty or longer than 70 characters).
    public static func boundary(contentType: String) -> String? {
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parameters.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parameters.dropFirst() where parameter.lowercased().hasPrefix("boundary=") {
            let value = parameter.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty || value.utf8.count > maximumBoundaryLength ? nil : value
        }
        return nil
    }

    /// Reads `body`, delimited by `boundary`.
    public static func parse(_ body: [UInt8], boundary: String) throws(Malformed) -> MultipartFormData {
        let malformed = Malformed(reason: "The form's upload could not be read; please send it again.")
        guard !boundary.isEmpty, boundary.utf8.count <= maximumBoundaryLength else { throw malformed }
        let delimiter = Array("--\(boundary)".utf8)
        var form = MultipartFormData()
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
            guard parts <= maximumParts else { throw Malformed(reason: "The form has too many parts.") }
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
