/// Exponential backoff with full jitter: a uniform wait in [0, min(cap, base · 2^(attempt−1))].
public struct Backoff: Sendable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the wait after the given (1-based) attempt.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let ms = Double(base.milliseconds) * pow2(exponent)
        return .milliseconds(Int64(min(ms, Double(cap.milliseconds))))
    }

    public func delay(afterAttempt attempt: Int, random: Double) -> Duration {
        let ceiling = Double(ceiling(afterAttempt: attempt).milliseconds)
        return .milliseconds(Int64(ceiling * min(max(random, 0), 1)))
    }

    private func pow2(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= 2 }
        return r
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
