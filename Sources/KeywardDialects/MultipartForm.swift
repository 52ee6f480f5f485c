import Foundation
import MultipartKit
import NIOCore

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
///
/// The byte-level reading (delimiters, header lines, part bodies) is multipart-kit's `MultipartParser`,
/// not ours. Hand-written here, because the parser leaves them to its caller: the boundary from the
/// Content-Type (multipart-kit has no Content-Type parsing), the limits (boundary length, part count,
/// header size), refusing a body that is never closed with `--boundary--` (the parser has no "finished"
/// state to ask, see `parse`), and reading `name` and `filename` from Content-Disposition
/// (`MultipartPart.name` cuts a value at its first `=` and has no `filename`). multipart-kit's
/// `FormDataDecoder` is not used: it decodes into `Decodable` types, and ours are a field map and files.
///
/// One workaround: multipart-kit 4.7.1 looks a header name's bytes up in a 128-entry table, so a byte of
/// 0x80 or more where a part's header name goes is an index out of range, a crash of the whole server.
/// `parse` first runs the parser over a copy with each such byte replaced by 0x01: the parser compares
/// bytes only with ASCII (CR, LF, `-`, `:`, the boundary, which must be ASCII), so the copy takes the
/// same path as the body and throws, instead of trapping, exactly where the body would trap.
public enum MultipartForm {
    /// A body that is not a multipart form this reader accepts; `reason` is safe to show.
    public struct Malformed: Error, Sendable, Equatable {
        public let reason: String
    }

    public static let maximumParts = 64
    /// RFC 2046 §5.1.1: a boundary is 1 to 70 characters. A longer one is refused, because every
    /// search for the delimiter costs its length at each position of the body.
    public static let maximumBoundaryLength = 70
    /// A part's header lines together (browsers send about 200 bytes). The parser keeps a header line in
    /// memory until it ends, so the body's own cap bounds memory; this bounds what a part may claim.
    public static let maximumHeaderBytes = 8 * 1024

    /// Whether `contentType` is `multipart/form-data`, with or without a usable boundary (a form of that
    /// type without one cannot be read, and is refused rather than read as another kind of form).
    public static func isFormData(contentType: String) -> Bool {
        contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "multipart/form-data"
    }

    /// The boundary of a `multipart/form-data` content type, or nil for any other type (or a boundary
    /// RFC 2046 does not allow: empty or longer than 70 characters).
    public static func boundary(contentType: String) -> String? {
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parameters.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parameters.dropFirst() where parameter.lowercased().hasPrefix("boundary=") {
            let value = parameter.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return isUsable(boundary: value) ? value : nil
        }
        return nil
    }

    /// 1 to 70 printable ASCII characters (RFC 2046 allows fewer; the parser's safety needs ASCII).
    static func isUsable(boundary: String) -> Bool {
        !boundary.isEmpty && boundary.utf8.count <= maximumBoundaryLength && boundary.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// Reads `body`, delimited by `boundary`.
    public static func parse(_ body: [UInt8], boundary: String) throws(Malformed) -> MultipartFormData {
        let malformed = Malformed(reason: "The form's upload could not be read; please send it again.")
        // Checked before the parser exists: `MultipartParser.init` traps on an empty boundary.
        guard isUsable(boundary: boundary) else { throw malformed }
        // The copy that throws where the body would trap (see above); nothing is read from it.
        do { try MultipartParser(boundary: boundary).execute(body.map { $0 < 0x80 ? $0 : 0x01 }) } catch { throw malformed }
        let reader = PartCollector()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in reader.header(name, value) }
        parser.onBody = { chunk in reader.body(&chunk) }
        parser.onPartComplete = { reader.complete() }
        do { try parser.execute(body) } catch { throw malformed }
        if let refusal = reader.refusal { throw refusal }
        // Closed? After `--boundary--` the parser ignores whatever follows; in any other state this
        // closing part makes it call back or throw, which means the body was cut short.
        reader.events = 0
        let closed: Bool
        do {
            try parser.execute(Array("\r\n--\(boundary)\r\n\r\n\r\n--\(boundary)--".utf8))
            closed = reader.events == 0
        } catch { closed = false }
        guard closed else { throw malformed }
        var form = MultipartFormData()
        for part in reader.parts {
            guard let disposition = part.headers.first(where: { $0.name.lowercased() == "content-disposition" }),
                let name = parameter("name", in: Substring(disposition.value))
            else { throw malformed }
            if let fileName = parameter("filename", in: Substring(disposition.value)) {
                if !(fileName.isEmpty && part.body.isEmpty) {  // browsers send an empty part for a file input left empty
                    form.files[name, default: []].append(UploadedFile(fileName: fileName, bytes: part.body))
                }
            } else {
                form.fields[name] = String(decoding: part.body, as: UTF8.self)
            }
        }
        return form
    }

    /// `name="value"` in a Content-Disposition value (quoted; browsers escape `"` as `%22`).
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
}

/// Gathers the parser's callbacks into parts, and stops gathering at the first limit crossed (the
/// callbacks cannot throw, so the refusal is kept and thrown once the parser returns). Used by one
/// `parse` call on one thread, so it needs no lock and is not `Sendable`.
private final class PartCollector {
    struct Part {
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
    }

    var parts: [Part] = []
    var current = Part()
    var headerBytes = 0
    var refusal: MultipartForm.Malformed?
    /// Callbacks seen; the closing check counts them.
    var events = 0

    func header(_ name: String, _ value: String) {
        events += 1
        guard refusal == nil else { return }
        headerBytes += name.utf8.count + value.utf8.count + 4
        guard headerBytes <= MultipartForm.maximumHeaderBytes else {
            refusal = .init(reason: "A part of the form has headers larger than \(MultipartForm.maximumHeaderBytes / 1024) KiB.")
            return
        }
        current.headers.append((name, value))
    }

    func body(_ chunk: inout ByteBuffer) {
        events += 1
        guard refusal == nil else { return }
        current.body += chunk.readBytes(length: chunk.readableBytes) ?? []
    }

    func complete() {
        events += 1
        guard refusal == nil else { return }
        guard parts.count < MultipartForm.maximumParts else {
            refusal = .init(reason: "The form has too many parts.")
            return
        }
        parts.append(current)
        current = Part()
        headerBytes = 0
    }
}
