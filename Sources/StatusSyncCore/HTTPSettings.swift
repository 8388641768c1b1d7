/// `http:` of the config: how long the HTTP server of `serve` (and `relay`) waits on a client.
///
/// Both bound what a slow, idle or hostile client can hold: without them a connection that sends
/// nothing, or announces a large body and stalls, keeps its descriptor and buffers for good.
public struct HTTPSettings: Sendable, Hashable {
    /// A keep-alive connection with no request on it is closed after this long.
    public var idleTimeout: ConfigDuration = .seconds(60)
    /// A request (head and body) must have fully arrived this long after its first byte; else it
    /// is answered 408 and the connection closed.
    public var requestTimeout: ConfigDuration = .seconds(30)

    public init() {}

    public init(idleTimeout: ConfigDuration, requestTimeout: ConfigDuration) {
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
    }

    /// Shorter timers would cut off ordinary clients on a busy machine; longer ones are allowed.
    public static let minimum = ConfigDuration(milliseconds: 100)
}
