import Foundation

/// Times as an operator reads them at a glance: `3m ago`, `in 12s`; pages show the exact UTC
/// time on hover.
enum RelativeTime {
    /// Reads the store's timestamps (`2026-11-26T16:22:54.123Z`, as `Timestamp.rfc3339` writes them).
    static func date(_ rfc3339: String) -> Date? {
        let digits = Array(rfc3339.utf8)
        guard digits.count >= 20 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var n = 0
            for b in digits[from..<(from + count)] {
                guard b >= 48 && b <= 57 else { return nil }
                n = n * 10 + Int(b - 48)
            }
            return n
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        let millis = digits.count >= 24 ? (number(20, 3) ?? 0) : 0
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + Double(millis) / 1000)
    }

    /// `rfc3339` relative to `now`: `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago`, `in 30s`.
    static func text(_ rfc3339: String?, now: Date) -> String {
        guard let rfc3339, let date = date(rfc3339) else { return rfc3339 ?? "" }
        let seconds = now.timeIntervalSince(date)
        let magnitude = Int(abs(seconds).rounded())
        let amount: String
        switch magnitude {
        case ..<2: return "just now"
        case ..<60: amount = "\(magnitude)s"
        case ..<3600: amount = "\(magnitude / 60)m"
        case ..<86_400: amount = "\(magnitude / 3600)h"
        default: amount = "\(magnitude / 86_400)d"
        }
        return seconds >= 0 ? "\(amount) ago" : "in \(amount)"
    }
}
