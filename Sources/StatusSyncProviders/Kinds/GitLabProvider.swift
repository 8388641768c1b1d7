import Foundation
import NIOHTTP1
import StatusSyncCore
import Synchronization

/// GitLab (gitlab.com and self-managed) external commit statuses (docs/provider-matrix.md#gitlab,
/// and its state machine there).
public struct GitLabProvider: ProviderType {
    public static let traits = ProviderTraits(
        kind: "gitlab", defaultBaseURL: "https://gitlab.com",
        baseURLHelp: "the instance root, e.g. https://gitlab.example.com (statussync adds /api/v4)",
        nestedRepoPath: true, repoExample: "group/sub/project"
    )

    static let descriptionLimit = 255

    public static func providerState(for state: NeutralState) -> String {
        switch state {
        case .pending: return "pending"
        case .running: return "running"
        case .success: return "success"
        case .failure, .error: return "failed"
        case .cancelled: return "canceled"
        case .skipped: return "skipped"
        }
    }

    public static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> GitLabProvider {
        GitLabProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http)
    }

    public let name: String
    public let pacing: Pacing?
    /// `<instance root>/api/v4`.
    let api: String
    let call: ProviderCall
    private let cache: Cache

    /// Project ids (resolved once from the path) and the last state sent per job identity, so
    /// pending→pending, running→running and running→pending are never sent (GitLab's state
    /// machine rejects them).
    final class Cache: Sendable {
        let projectIDs = Mutex<[String: Int]>([:])
        let lastSent = Mutex<[String: String]>([:])
    }

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.api = ProviderCall.root(baseURL, "/api/v4")
        self.pacing = pacing
        self.call = ProviderCall(http: http, token: token, now: now, label: "GitLab")
        self.cache = Cache()
    }

    var headers: [(String, String)] { [("PRIVATE-TOKEN", call.token), ("User-Agent", "statussync")] }

    /// The numeric project id for a path, looked up once (`%2F`-encoded paths break behind some proxies).
    func projectID(_ path: String) async -> (CallOutcome?, Int?) {
        if let id = cache.projectIDs.withLock({ $0[path] }) { return (nil, id) }
        var (outcome, response) = await call.send(.GET, "\(api)/projects/\(path.pathSegmentEncoded)", headers: headers,
                                                  notFound: "project \(path) not found, or the token cannot see it", special: quirks(for: nil))
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        guard let id = (try? JSONValue.parse(response.body))?["id"].flatMap({ if case .number(let n) = $0 { return Int(n) } else { return nil } }) else {
            outcome.errorClass = .transient
            outcome.message = "project \(path): answer has no id"
            return (outcome, nil)
        }
        cache.projectIDs.withLock { $0[path] = id }
        return (nil, id)
    }

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        let (failed, projectID) = await projectID(status.repo)
        guard let projectID else { return failed! }
        let state = Self.providerState(for: status.state)
        let identity = "\(projectID)/\(status.sha)/\(status.ref ?? "")/\(status.context)"
        let previous = cache.lastSent.withLock { $0[identity] }
        if let previous, previous == state && (state == "pending" || state == "running") || (previous == "running" && state == "pending") {
            // GitLab already shows this (or a later) non-terminal state; sending it is a 400.
            return CallOutcome(errorClass: .ok, httpStatus: nil, message: "not sent: GitLab already has \(previous) for \(status.context)",
                               startedAt: call.now(), duration: .zero)
        }
        var body: [String: JSONValue] = [
            "state": .string(state),
            "name": .string(status.context),
            "description": .string(status.description.truncated(toScalars: Self.descriptionLimit)),
        ]
        if let url = status.targetURL { body["target_url"] = .string(url) }
        if let ref = status.ref { body["ref"] = .string(ref) }
        let (outcome, _) = await call.send(.POST, "\(api)/projects/\(projectID)/statuses/\(status.sha)", headers: headers, json: .object(body),
                                           notFound: "commit \(status.sha) or project \(status.repo) not found", special: quirks(for: state))
        if outcome.errorClass == .ok { cache.lastSent.withLock { $0[identity] = state } }
        return outcome
    }

    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?) {
        let (failed, projectID) = await projectID(repo)
        guard let projectID else { return (failed!, nil) }
        let (outcome, response) = await call.send(.GET, "\(api)/projects/\(projectID)/merge_requests/\(pr)", headers: headers,
                                                  notFound: "merge request !\(pr) not found in \(repo)", special: quirks(for: nil))
        return ProviderCall.head(outcome, response, what: "merge request !\(pr)", sha: { $0["sha"]?.stringValue }, branch: { $0["source_branch"]?.stringValue })
    }

    public func identify() async -> (CallOutcome, identity: String?) {
        let (outcome, response) = await call.send(.GET, "\(api)/user", headers: headers,
                                                  notFound: "\(api)/user not found: is baseURL the GitLab instance root?", special: quirks(for: nil))
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        return (outcome, (try? JSONValue.parse(response.body))?["username"]?.stringValue ?? "(unknown user)")
    }

    public func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome {
        let (failed, projectID) = await projectID(repo)
        guard let projectID else { return failed! }
        let notes = "\(api)/projects/\(projectID)/merge_requests/\(comment.pr)/notes"
        let missing = "merge request !\(comment.pr) not found in \(repo)"
        let text: JSONValue = .object(["body": .string(comment.text)])
        return await CommentUpsert.run(comment, page: { n in
            let (outcome, response) = await call.send(.GET, "\(notes)?per_page=100&page=\(n)&sort=asc", headers: headers, notFound: missing, special: quirks(for: nil))
            guard outcome.errorClass == .ok, let response else { return (outcome, [], false) }
            guard case .array(let items)? = try? JSONValue.parse(response.body) else { return (.unexpected("notes answer is not a list", after: outcome), [], false) }
            let comments = items.compactMap { c in c["id"]?.idText.map { ExistingComment(id: $0, body: c["body"]?.stringValue ?? "") } }
            let more = response.header("X-Next-Page").map { !$0.isEmpty } ?? (items.count == 100)
            return (nil, comments, more)
        }, edit: { existing in
            await call.send(.PUT, "\(notes)/\(existing.id)", headers: headers, json: text, notFound: "note \(existing.id) vanished", special: quirks(for: nil)).0
        }, create: {
            await call.send(.POST, notes, headers: headers, json: text, notFound: missing, special: quirks(for: nil)).0
        })
    }

    /// GitLab specifics: 409 "Another update … in progress" is transient; a 400 "Cannot transition
    /// status via :x from :y" counts as delivered when GitLab already has the requested state (or,
    /// for pending, the later running); 429 without headers waits the default.
    func quirks(for requested: String?) -> ProviderCall.Classify {
        { response, message in
            if response.status == 409 { return (.transient, message ?? "another update to this commit status is in progress (409)") }
            guard response.status == 400, let message, message.contains("Cannot transition status via"), let requested else { return nil }
            let current = Self.currentState(in: message)
            if current == requested || (current == "running" && requested == "pending") {
                return (.ok, "GitLab already has \(current ?? requested): \(message)")
            }
            return (.permanent, message)
        }
    }

    /// `:running` out of "Cannot transition status via :run from :running (…)".
    static func currentState(in message: String) -> String? {
        guard let from = message.range(of: "from :") else { return nil }
        return String(message[from.upperBound...].prefix { $0.isLetter || $0 == "_" })
    }
}
