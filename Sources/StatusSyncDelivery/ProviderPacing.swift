/// A provider's pacing at one moment (docs/design.md#delivery-order).
public struct ProviderPacing: Sendable, Equatable {
    /// Whole calls the provider's bucket allows now; nil when it is not paced.
    public var available: Int?
    /// Calls a second the bucket refills; nil when it is not paced.
    public var perSecond: Double?
    /// Seconds left of a rate-limit pause (0 when none).
    public var pausedFor: Double
}
