/// A duration in seconds as people read it: `45s`, `12m 5s`, `3h 20m`.
public enum DrainTime {
    public static func text(seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m \(total % 60)s" }
        return "\(total / 3600)h \((total % 3600) / 60)m"
    }
}
