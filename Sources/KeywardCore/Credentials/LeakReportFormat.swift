import Foundation

/// The body of a secret scanner's report: a JSON array of `{"token", "type", "url", "source"}` objects
/// (GitHub's secret scanning partner format). Read only after its signature has been checked.
public enum LeakReportFormat {
    /// Parses a report. `token` must be a non-empty string; `type`, `url` and `source` are read when they
    /// are strings (`url` may be empty or absent, a missing `source` is `unknown`); other fields, which a
    /// scanner may add, are ignored. More than `maxTokens` entries: 413 `too_many_tokens`.
    public static func parse(_ body: Data, maxTokens: Int) throws -> [ReportedToken] {
        guard let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) else {
            throw KeywardError.invalid(.invalidJSON, "The report is not valid JSON.")
        }
        guard let array = object as? [Any] else {
            throw KeywardError.invalid(.invalidReport, "The report must be a JSON array of {\"token\", \"type\", \"url\", \"source\"} objects.")
        }
        guard array.count <= maxTokens else {
            throw KeywardError(
                .tooLarge,
                .tooManyTokens,
                "A report may hold at most \(maxTokens) tokens; this one holds \(array.count). Send it in parts."
            )
        }
        return try array.enumerated().map { index, element in
            guard let entry = element as? [String: Any] else {
                throw KeywardError.invalid(.invalidReport, "Entry \(index) of the report is not an object.", field: "[\(index)]")
            }
            guard let token = entry["token"] as? String, !token.isEmpty else {
                throw KeywardError.invalid(.invalidReport, "Entry \(index) of the report has no \"token\" string.", field: "[\(index)].token")
            }
            let source = (entry["source"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
            return ReportedToken(token: token, type: entry["type"] as? String ?? "", url: entry["url"] as? String ?? "", source: source)
        }
    }
}
