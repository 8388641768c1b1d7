import Synchronization

/// Paces calls per provider token: `burst` at once, refilled continuously at `perMinute`. The
/// delivery loop claims only as many updates as the bucket has whole tokens and takes them at
/// the claim, so an update waiting for budget stays `queued` (docs/design.md#delivery-order).
final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let burst: Double
    let perSecond: Double
    private let state: Mutex<State>
    private let now: @Sendable () -> ContinuousClock.Instant

    init(burst: Int, perMinute: Double, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.burst = Double(burst)
        self.perSecond = perMinute / 60
        self.now = now
        self.state = Mutex(State(tokens: Double(burst), last: now()))
    }

    private func refill(_ s: inout State) {
        let current = now()
        let elapsed = current - s.last
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        s.tokens = min(burst, s.tokens + seconds * perSecond)
        s.last = current
    }

    /// Whole calls the bucket allows now.
    var available: Int {
        state.withLock { s in
            refill(&s)
            return Int(s.tokens)
        }
    }

    /// Takes up to `count` tokens at once; returns how many it took.
    @discardableResult
    func take(_ count: Int) -> Int {
        state.withLock { s in
            refill(&s)
            let taken = max(0, min(count, Int(s.tokens)))
            s.tokens -= Double(taken)
            return taken
        }
    }

    /// How long until the bucket holds a whole token (zero when it does).
    var untilNextToken: Duration {
        state.withLock { s in
            refill(&s)
            guard s.tokens < 1, perSecond > 0 else { return .zero }
            return .milliseconds(Int64((1 - s.tokens) / perSecond * 1000) + 1)
        }
    }
}
