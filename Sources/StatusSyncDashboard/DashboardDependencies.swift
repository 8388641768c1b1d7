import Foundation
import Logging
import StatusSyncCore
import StatusSyncDelivery
import StatusSyncStore

/// What the dashboard reads: the store (its read-only queries, the ones the CLI uses), the
/// configured providers and, in `serve`, the delivery loop's pacing for drain times.
public struct DashboardDependencies: Sendable {
    public var store: SQLiteStore
    public var providers: [ProviderConfig]
    public var delivery: DeliveryService?
    /// The token every page asks for (HTTP Basic password), or nil on a loopback-only listener.
    public var token: String?
    public var listen: ListenAddress
    public var version: String
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(store: SQLiteStore, providers: [ProviderConfig], delivery: DeliveryService?, token: String?, listen: ListenAddress,
                version: String, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.providers = providers
        self.delivery = delivery
        self.token = token
        self.listen = listen
        self.version = version
        self.logger = logger
        self.now = now
    }
}
