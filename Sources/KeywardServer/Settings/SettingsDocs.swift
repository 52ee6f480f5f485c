import Foundation

/// What people read about the settings, all rendered from `Settings.table`: the `keyward serve --help` list,
/// README's settings table and the example config file. Secret settings are marked, and only defaults are
/// ever shown (secrets have none), never a configured value.
extension Settings {
    /// The settings part of `keyward serve --help`: every setting with its flag, environment variable and default.
    public static var helpText: String {
        var lines = [
            // One line: swift-argument-parser wraps a discussion's paragraphs to the terminal itself.
            "Every setting is a flag (--name value), an environment variable (KEYWARD_NAME) or a key of the JSON file "
                + "named by --config FILE or KEYWARD_CONFIG_FILE (example: docs/keyward.example.json); a flag wins, then "
                + "the environment, then the file, then the default. Lists take commas or a repeated flag. "
                + "Secret settings are marked [secret]; no value is ever printed here.",
            "",
            "SETTINGS:",
        ]
        for spec in table {
            let secret = spec.isSecret ? " [secret]" : ""
            lines.append("  \(spec.flagName) \(spec.placeholder)\(secret)")
            lines += wrapped(spec.summary, indent: 8)
            lines += wrapped("env \(spec.environmentName); default: \(spec.defaultText)", indent: 8)
        }
        return lines.joined(separator: "\n")
    }

    /// `text` in lines of at most 79 columns, each indented: swift-argument-parser would wrap longer ones
    /// at column 80 without the indent.
    static func wrapped(_ text: String, indent: Int) -> [String] {
        let prefix = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = prefix
        for word in text.split(separator: " ") {
            if line.count > indent, line.count + 1 + word.count > 79 {
                lines.append(line)
                line = prefix
            }
            line += (line.count > indent ? " " : "") + word
        }
        lines.append(line)
        return lines
    }

    /// README's settings table (between `<!-- settings:begin -->` and `<!-- settings:end -->`).
    public static var readmeTable: String {
        var lines = [
            "| setting | environment | default | what it sets |",
            "|---|---|---|---|",
        ]
        for spec in table {
            let secret = spec.isSecret ? " **Secret**: never printed or logged." : ""
            let summary = spec.summary.replacingOccurrences(of: "|", with: "\\|")
            lines.append("| `\(spec.name)` | `\(spec.environmentName)` | \(markdownDefault(spec)) | \(summary)\(secret) |")
        }
        return lines.joined(separator: "\n")
    }

    private static func markdownDefault(_ spec: SettingSpec) -> String {
        if let value = spec.defaultValue { return "`\(value)`" }
        return (spec.defaultNote ?? "unset").replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "<", with: "\\<")
    }

    /// docs/keyward.example.json: every setting at its default. JSON has no comments: README's table
    /// describes each key. Settings without a default are empty (an empty value means unset).
    public static var exampleConfigFile: String {
        let entries = table.map { spec -> String in
            let value: String
            switch spec.kind {
            case .integer: value = spec.defaultValue ?? "0"
            case .flag: value = spec.defaultValue ?? "false"
            case .list: value = "[" + (spec.defaultValue ?? "").split(separator: ",").map { jsonString(String($0)) }.joined(separator: ", ") + "]"
            case .text, .choice: value = jsonString(spec.defaultValue ?? "")
            }
            return "  \(jsonString(spec.name)): \(value)"
        }
        return "{\n" + entries.joined(separator: ",\n") + "\n}\n"
    }

    private static func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
