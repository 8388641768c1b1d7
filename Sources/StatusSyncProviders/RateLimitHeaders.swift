import Foundation

/// Wait-time precedence for rate limits (docs/provider-matrix.md#rate-limits): `Retry-After` (seconds or an HTTP
/// date) exactly; else, when the remaining quota is 0, until the reset time plus 1 s of skew.
public enum RateLimitHeaders {
    public static func wait(header: (String) -> String?, remainingName: String, resetName: String, now: Date) -> Duration? {
        if let retryAfter = header("Retry-After")?.trimmingCharacters(in: .whitespaces), !retryAfter.isEmpty {
            if let seconds = Double(retryAfter), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
            if let date = httpDate(retryAfter) { return .milliseconds(max(0, Int64(date.timeIntervalSince(now) * 1000))) }
        }
        if let remaining = header(remainingName).flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), remaining <= 0,
           let reset = header(resetName).flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            let until = Date(timeIntervalSince1970: reset).timeIntervalSince(now) + 1
            return .milliseconds(max(1000, Int64(until * 1000)))
        }
        return nil
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form `Retry-After` uses.
    public static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
