import Synchronization

/// Shared flags of the running server (set at graceful shutdown: new calls get 503).
public final class ServerState: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .sequentiallyConsistent) }
    public func startDraining() { draining.store(true, ordering: .sequentiallyConsistent) }
}
