import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How `keyward serve` writes its log (`log_format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-12-07T16:42:47Z info keyward: message key=value …`, for people.
    case text
    /// One JSON object per line (`time`, `level`, `label`, `message`, `source`, then the metadata), for
    /// log collectors.
    case json
}

/// The server's log handler: one line per event on standard error, in either format. Written here rather
/// than taken from a package because the request id must appear once per line under one name:
/// Hummingbird tags each request's logger `hb.request.id`, which `RequestLogMiddleware` sets to Keyward's
/// own id (`req_…`, echoed in `Keyward-Request-Id`) and this handler prints as `request_id`. Unlike
/// swift-log's `StreamLogHandler`, setting metadata costs no rendering: lines are rendered when written.
public struct KeywardLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let format: LogFormat

    public init(label: String, format: LogFormat) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = LogLine.render(
            format: format,
            time: Date(),
            level: event.level,
            label: label,
            message: event.message.description,
            source: event.source,
            metadata: merged
        )
        StandardError.write(line)
    }
}

/// Renders one log line (kept apart from the handler so it can be tested without standard error).
enum LogLine {
    /// Metadata keys printed under another name.
    static let renamed = ["hb.request.id": "request_id"]

    static func render(
        format: LogFormat,
        time: Date,
        level: Logger.Level,
        label: String,
        message: String,
        source: String,
        metadata: Logger.Metadata
    ) -> String {
        let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(time)
        // One field per name: a line that names the request id itself as well as through the request's
        // logger (`hb.request.id`) prints it once.
        var byName: [String: Logger.MetadataValue] = [:]
        for (key, value) in metadata { byName[renamed[key] ?? key] = value }
        let fields = byName.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        switch format {
        case .text:
            var line = "\(timestamp) \(level) \(label): \(message)"
            for (key, value) in fields { line += " \(key)=\(textValue(value))" }
            return line + "\n"
        case .json:
            var object: [String: Any] = ["time": timestamp, "level": level.rawValue, "label": label, "message": message, "source": source]
            for (key, value) in fields where object[key] == nil { object[key] = jsonValue(value) }
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return #"{"level":"error","message":"unrenderable log line"}"# + "\n"
            }
            return String(decoding: data, as: UTF8.self) + "\n"
        }
    }

    /// A logfmt value: bare when it is one word, quoted (with `"` and `\` escaped) otherwise.
    static func textValue(_ value: Logger.Metadata.Value) -> String {
        let text = value.description
        let bare = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "=" }
        if bare { return text }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    static func jsonValue(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(jsonValue)
        case .dictionary(let values): values.mapValues(jsonValue)
        }
    }
}

/// Writes whole lines to standard error, one writer at a time, so lines of concurrent tasks never interleave.
enum StandardError {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        let bytes = Array(line.utf8)
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { buffer in
                    systemWrite(2, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Musl)
private let systemWrite = Musl.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
