/// The long lists of cabinet pages (keys, certificates, timeline bars) are written here rather than by
/// the template engine: a Mustache lookup costs dynamic casts per field, which made a 1,000-row page
/// take tens of milliseconds. Every value goes through `HTML.escape`.
enum HTML {
    /// Escapes `& < > " '` (text and attribute values); returns the string untouched when it has none.
    static func escape(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

extension KeyRow {
    var html: String {
        let e = HTML.escape
        var row = "<tr><td>\(e(name))"
        if stale { row += " <strong>(rotate: older than \(rotationDays) days)</strong>" }
        row += "<br><small>\(e(scope))</small>"
        row +=
            "</td><td><code>\(e(prefix))…\(e(last4))</code></td><td>\(e(status))</td><td>\(e(created))</td><td>\(e(lastUsed))</td><td>\(e(expires))</td><td>"
        let query = "?mode=\(e(mode))"
        if rollable {
            row += "<a href=\"/cabinet/keys/\(e(id))/roll\(query)\">Roll<span class=\"visually-hidden\"> \(e(name))</span></a> "
        }
        if revocable {
            row += "<a href=\"/cabinet/keys/\(e(id))/revoke\(query)\" class=\"danger\">Revoke<span class=\"visually-hidden\"> \(e(name))</span></a>"
        }
        return row + "</td></tr>\n"
    }
}

extension CertificateRow {
    var html: String {
        let e = HTML.escape
        return "<tr><td>\(e(name))</td><td>\(e(mode))</td><td>\(e(type))</td><td><strong class=\"badge-\(e(status))\">\(e(status))</strong></td>"
            + "<td>\(daysLeft)</td><td>\(e(names))</td><td>\(e(issuer))</td></tr>\n"
    }
}

extension ExpiryTimeline.Bar {
    var html: String {
        let e = HTML.escape
        return
            "<rect x=\"0\" y=\"\(y)\" width=\"\(width)\" height=\"14\" rx=\"3\" fill=\"\(e(color))\"><title>\(e(name)): \(e(status)), \(daysLeft) days left</title></rect>"
            + "<text x=\"\(labelX)\" y=\"\(textY)\" font-size=\"12\" fill=\"currentColor\">\(e(name))</text>\n"
    }
}
