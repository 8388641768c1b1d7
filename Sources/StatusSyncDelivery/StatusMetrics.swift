import Metrics
import StatusSyncCore
import Synchronization

/// The metrics of CONTRACT §5, made once per label set (creating a metric per event goes through
/// the factory's registry lock and name sanitising every time).
public enum StatusMetrics {
    private static let counters = Mutex<[String: Counter]>([:])
    private static let deliveryTimer = Mutex<Metrics.Timer?>(nil)

    private static func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + "|" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return counters.withLock { cache in
            if let c = cache[key] { return c }
            let c = Counter(label: label, dimensions: dimensions)
            cache[key] = c
            return c
        }
    }

    /// `statussync_calls_total{outcome}`: plugin calls by how they were answered.
    public static func call(_ outcome: String) { counter("statussync_calls_total", [("outcome", outcome)]).increment() }

    /// `statussync_updates_total{status}`: transitions into each update status.
    public static func update(_ status: DeliveryStatus) { counter("statussync_updates_total", [("status", status.rawValue)]).increment() }

    /// `statussync_provider_calls_total{provider,class}`.
    public static func providerCall(_ provider: String, _ errorClass: String) {
        counter("statussync_provider_calls_total", [("provider", provider), ("class", errorClass)]).increment()
    }

    /// `statussync_delivery_seconds`: accept → delivered.
    public static func delivered(after nanoseconds: Int64) {
        let timer = deliveryTimer.withLock { t -> Metrics.Timer in
            if let t { return t }
            let made = Metrics.Timer(label: "statussync_delivery_seconds")
            t = made
            return made
        }
        timer.recordNanoseconds(nanoseconds)
    }
}
