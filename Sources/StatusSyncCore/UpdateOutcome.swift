/// What a reply needs to know about an update to describe it to the agent.
public struct UpdateOutcome: Sendable, Equatable {
    public var id: Int64
    public var status: DeliveryStatus
    public var state: NeutralState
    public var repo: String
    public var sha: String?
    public var pr: Int?
    public var context: String
    public var attempts: Int
    public var lastError: String?
    /// The duplicated update (duplicate), the newer update (superseded), or the terminal update (stale).
    public var linkedID: Int64?

    public init(id: Int64, status: DeliveryStatus, state: NeutralState, repo: String, sha: String?, pr: Int?,
                context: String, attempts: Int, lastError: String?, linkedID: Int64?) {
        self.id = id
        self.status = status
        self.state = state
        self.repo = repo
        self.sha = sha
        self.pr = pr
        self.context = context
        self.attempts = attempts
        self.lastError = lastError
        self.linkedID = linkedID
    }

    /// `owner/name@abc1234` or `owner/name#12`.
    public var target: String {
        // A stored sha is lowercase hex, so its first 12 bytes are its first 12 characters.
        if let sha { return repo + "@" + String(decoding: sha.utf8.prefix(12), as: UTF8.self) }
        if let pr { return "\(repo)#\(pr)" }
        return repo
    }
}

extension PluginReply {
    public static let waitRequeue = "10s"

    /// The accepting reply (asynchronous mode): `Succeeded` with `update-id` and `delivery` outputs.
    public static func accepted(_ u: UpdateOutcome) -> PluginReply {
        let delivery: String
        let message: String
        switch u.status {
        case .duplicate:
            delivery = "duplicate"
            message = "statussync: \(u.state.rawValue) for \(u.target) (\(u.context)) is the same as update \(u.linkedID.map(String.init) ?? "?"); not sent again (update \(u.id))"
        case .stale:
            delivery = "stale"
            message = "statussync: \(u.state.rawValue) for \(u.target) (\(u.context)) is stale: this workflow already reported a final state (update \(u.linkedID.map(String.init) ?? "?")); not sent (update \(u.id))"
        case .delivered:
            delivery = "delivered"
            message = "statussync: \(u.state.rawValue) for \(u.target) (\(u.context)) delivered (update \(u.id))"
        default:
            delivery = "queued"
            message = "statussync: \(u.state.rawValue) for \(u.target) (\(u.context)) queued for delivery (update \(u.id))"
        }
        return PluginReply(phase: .succeeded, message: message, parameters: [
            Parameter(name: "update-id", value: String(u.id)),
            Parameter(name: "delivery", value: delivery),
        ])
    }

    /// The wait-mode reply for the update's current state. For a duplicate, pass the outcome of the
    /// update it duplicates as `effective`.
    public static func waiting(_ u: UpdateOutcome, effective: UpdateOutcome? = nil) -> PluginReply {
        let e = effective ?? u
        let params = [Parameter(name: "update-id", value: String(u.id)), Parameter(name: "delivery", value: e.status.rawValue)]
        switch e.status {
        case .queued, .delivering:
            var message = "statussync: waiting for \(e.state.rawValue) on \(e.target) (\(e.context)) to be delivered (update \(e.id)"
            if e.attempts > 0 { message += ", \(e.attempts) attempt\(e.attempts == 1 ? "" : "s")" }
            message += ")"
            if let err = e.lastError { message += "; last error: \(err.excerpt(200))" }
            return PluginReply(phase: .running, message: message, requeue: waitRequeue)
        case .delivered:
            return PluginReply(phase: .succeeded, message: "statussync: \(e.state.rawValue) for \(e.target) (\(e.context)) delivered (update \(e.id))", parameters: params)
        case .stale:
            return PluginReply(phase: .succeeded, message: "statussync: \(e.state.rawValue) for \(e.target) (\(e.context)) is stale: this workflow already reported a final state; not sent (update \(e.id))", parameters: params)
        case .superseded:
            return PluginReply(phase: .succeeded, message: "statussync: \(e.state.rawValue) for \(e.target) (\(e.context)) was superseded by update \(e.linkedID.map(String.init) ?? "?") before it was sent (update \(e.id))", parameters: params)
        case .failed, .dead:
            let why = e.lastError.map { ": \($0.excerpt(300))" } ?? ""
            let verb = e.status == .dead ? "was given up after \(e.attempts) attempt\(e.attempts == 1 ? "" : "s")" : "failed"
            return PluginReply(phase: .failed, message: "statussync: \(e.state.rawValue) for \(e.target) (\(e.context)) \(verb)\(why) (update \(e.id); requeue it with statussync retry \(e.id))")
        case .duplicate:
            // A duplicate's effective update is never itself a duplicate; report it as queued.
            return PluginReply(phase: .running, message: "statussync: waiting for update \(e.linkedID.map(String.init) ?? "?")", requeue: waitRequeue)
        }
    }
}
