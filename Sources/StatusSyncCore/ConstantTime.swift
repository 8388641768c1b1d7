/// Token comparison whose time does not depend on where the bytes first differ, so a caller
/// cannot learn a token byte by byte from response times.
public enum ConstantTime {
    /// Whether `presented` equals `secret`; an empty secret never matches.
    public static func equals(_ presented: some Collection<UInt8>, _ secret: some Collection<UInt8>) -> Bool {
        let x = Array(presented)
        let y = Array(secret)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0 && !y.isEmpty
    }
}
