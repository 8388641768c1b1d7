import Synchronization

/// Paces calls per provider token: `burst` at once, refilled continuously at `perMinute`.
final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let burst: Double
    private let perSecond: Double
    private let state: Mutex<State>

    init(burst: Int, perMinute: Double) {
        self.burst = Double(burst)
        self.perSecond = perMinute / 60
        self.state = Mutex(State(tokens: Double(burst), last: .now))
    }

    /// Takes one token, waiting until one is available. Throws when the task is cancelled.
    func acquire() async throws {
        while true {
            let wait = state.withLock { s -> Double in
                let now = ContinuousClock.now
                let elapsed = now - s.last
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                s.tokens = min(burst, s.tokens + seconds * perSecond)
                s.last = now
                if s.tokens >= 1 {
                    s.tokens -= 1
                    return 0
                }
                return (1 - s.tokens) / perSecond
            }
            if wait <= 0 { return }
            try await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 1))
        }
    }
}
