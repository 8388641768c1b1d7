import Metrics
import StatusSyncCore
import Synchronization

/// The metrics of docs/design.md#endpoints, made once per label set (creating a metric per event goes through
/// the factory's registry lock and name sanitising every time).
public enum StatusMetrics {
    private static let callCounters = Mutex<[String: Counter]>([:])
    private static let updateCounters = Mutex<[DeliveryStatus: Counter]>([:])
    private static let providerCounters = Mutex<[ProviderCallKey: Counter]>([:])
    private static let deliveryTimer = Mutex<Metrics.Timer?>(nil)
    private static let checkRunCounters = Mutex<[CheckRunCallKey: Counter]>([:])
    private static let rerunCounters = Mutex<[String: Counter]>([:])
    private static let webhookCounters = Mutex<[String: Counter]>([:])

    private struct CheckRunCallKey: Hashable, Sendable {
        var provider: String
        var operation: String
        var errorClass: String
    }

    private struct ProviderCallKey: Hashable, Sendable {
        var provider: String
        var errorClass: String
    }

    /// The cached counter under `key`, made by `make` the first time.
    private static func counter<Key: Hashable & Sendable>(_ cache: borrowing Mutex<[Key: Counter]>, _ key: Key, _ make: () -> Counter) -> Counter {
        cache.withLock { counters in
            if let c = counters[key] { return c }
            let c = make()
            counters[key] = c
            return c
        }
    }

    /// `statussync_calls_total{outcome}`: plugin calls by how they were answered.
    public static func call(_ outcome: String) {
        counter(callCounters, outcome) { Counter(label: "statussync_calls_total", dimensions: [("outcome", outcome)]) }.increment()
    }

    /// `statussync_updates_total{status}`: transitions into each update status.
    public static func update(_ status: DeliveryStatus) {
        counter(updateCounters, status) { Counter(label: "statussync_updates_total", dimensions: [("status", status.rawValue)]) }.increment()
    }

    /// `statussync_provider_calls_total{provider,class}`.
    public static func providerCall(_ provider: String, _ errorClass: String) {
        counter(providerCounters, ProviderCallKey(provider: provider, errorClass: errorClass)) {
            Counter(label: "statussync_provider_calls_total", dimensions: [("provider", provider), ("class", errorClass)])
        }.increment()
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

    /// `statussync_check_run_calls_total{provider,operation,class}`: GitHub check-run calls by
    /// operation (check-create, check-update, check-list, check-supersede); they count in
    /// `statussync_provider_calls_total` too.
    public static func checkRunCall(_ provider: String, _ operation: String, _ errorClass: String) {
        counter(checkRunCounters, CheckRunCallKey(provider: provider, operation: operation, errorClass: errorClass)) {
            Counter(label: "statussync_check_run_calls_total", dimensions: [("provider", provider), ("operation", operation), ("class", errorClass)])
        }.increment()
    }

    /// `statussync_reruns_total{status}`: re-run requests moving into queued (recorded),
    /// delivered (resubmitted), failed or dead.
    public static func rerun(_ status: String) {
        counter(rerunCounters, status) { Counter(label: "statussync_reruns_total", dimensions: [("status", status)]) }.increment()
    }

    /// `statussync_github_webhooks_total{result}`: GitHub webhook deliveries by answer
    /// (recorded, repeated, ignored, unauthorized, invalid).
    public static func webhook(_ result: String) {
        counter(webhookCounters, result) { Counter(label: "statussync_github_webhooks_total", dimensions: [("result", result)]) }.increment()
    }
}
