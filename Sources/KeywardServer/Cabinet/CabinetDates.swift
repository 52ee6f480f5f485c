import Foundation

/// Dates as the cabinet shows them, in UTC: `2026-11-26` and `2026-11-26 16:38 UTC`. Integer arithmetic
/// (days to civil date, Howard Hinnant's algorithm) instead of Foundation's formatters, which cost
/// tens of microseconds each: a page of 1,000 keys shows 2,000 dates.
enum CabinetDates {
    static func day(_ date: Date) -> String {
        let (y, m, d, _, _) = parts(date)
        return "\(y)-\(pad(m))-\(pad(d))"
    }

    static func minute(_ date: Date) -> String {
        let (y, m, d, hour, minute) = parts(date)
        return "\(y)-\(pad(m))-\(pad(d)) \(pad(hour)):\(pad(minute)) UTC"
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    static func parts(_ date: Date) -> (Int, Int, Int, Int, Int) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86400
        var rest = seconds % 86400
        if rest < 0 {
            rest += 86400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3600, rest % 3600 / 60)
    }
}
