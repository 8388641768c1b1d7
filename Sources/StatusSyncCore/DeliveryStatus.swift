/// Where an update is in its life (docs/design.md#update-states).
public enum DeliveryStatus: String, Sendable, CaseIterable, Codable {
    case queued, delivering, delivered, duplicate, superseded, stale, failed, dead

    /// Still to be sent: the delivery loop owns it.
    public var isPending: Bool { self == .queued || self == .delivering }

    /// Counts as the current update of its context for dedup.
    public var isLive: Bool { self == .queued || self == .delivering || self == .delivered }
}
