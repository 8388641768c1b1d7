import Foundation
import NIOHTTP1
import StatusSyncCore

/// Bitbucket Data Center / Server build statuses on the 7.14+ endpoint (docs/provider-matrix.md#bitbucket):
/// `POST …/projects/{key}/repos/{slug}/commits/{sha}/builds`, 204 on success.
public struct BitbucketDCProvider: ProviderType {
    public static let traits = ProviderTraits(
        kind: "bitbucket-dc", defaultBaseURL: nil,
        baseURLHelp: "the instance root with any context path, e.g. https://bitbucket.example.com/bitbucket (statussync adds /rest/api/latest)",
        requiresTargetURL: true, repoExample: "PROJECT/slug"
    )

    static let descriptionLimit = 255

    public static func providerState(for state: NeutralState) -> String { Bitbucket.state(for: state, cancelled: "CANCELLED") }

    public static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> BitbucketDCProvider {
        BitbucketDCProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http)
    }

    public let name: String
    public let pacing: Pacing?
    let root: String
    /// `<instance root>/rest/api/latest`.
    let api: String
    let call: ProviderCall

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.root = ProviderCall.root(baseURL)
        self.api = root + "/rest/api/latest"
        self.pacing = pacing
        self.call = ProviderCall(http: http, token: token, now: now, label: "Bitbucket Data Center")
    }

    var headers: [(String, String)] { [("Authorization", Bitbucket.authorization(call.token)), ("Accept", "application/json"), ("User-Agent", "statussync")] }

    /// `PROJECT/slug` → `projects/PROJECT/repos/slug`.
    func repoPath(_ repo: String) -> String {
        let parts = repo.split(separator: "/", maxSplits: 1)
        return "projects/\(parts.first ?? "")/repos/\(parts.count > 1 ? parts[1] : "")"
    }

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        var body: [String: JSONValue] = [
            "key": .string(Bitbucket.key(status.context)),
            "name": .string(status.context),
            "state": .string(Self.providerState(for: status.state)),
            "description": .string(status.description.truncated(toScalars: Self.descriptionLimit)),
            "url": .string(status.targetURL ?? ""),
        ]
        if let ref = status.ref { body["ref"] = .string(ref.hasPrefix("refs/") ? ref : "refs/heads/\(ref)") }
        let (outcome, _) = await call.send(.POST, "\(api)/\(repoPath(status.repo))/commits/\(status.sha)/builds", headers: headers,
                                           json: .object(body), notFound: "repository \(status.repo) or commit \(status.sha) not found, or the token cannot see it")
        return outcome
    }

    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?) {
        let (outcome, response) = await call.send(.GET, "\(api)/\(repoPath(repo))/pull-requests/\(pr)", headers: headers,
                                                  notFound: "pull request #\(pr) not found in \(repo)")
        return ProviderCall.head(outcome, response, what: "pull request #\(pr)", sha: { $0["fromRef"]?["latestCommit"]?.stringValue },
                                 branch: { $0["fromRef"]?["displayId"]?.stringValue })
    }

    public func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome {
        let pull = "\(api)/\(repoPath(repo))/pull-requests/\(comment.pr)"
        let missing = "pull request #\(comment.pr) not found in \(repo)"
        return await CommentUpsert.run(comment, page: { n in
            let (outcome, response) = await call.send(.GET, "\(pull)/activities?start=\((n - 1) * 100)&limit=100", headers: headers, notFound: missing)
            guard outcome.errorClass == .ok, let response else { return (outcome, [], false) }
            guard let json = try? JSONValue.parse(response.body), case .array(let items)? = json["values"] else {
                return (.unexpected("activities answer has no values", after: outcome), [], false)
            }
            let found = items.compactMap { a -> ExistingComment? in
                guard a["action"]?.stringValue == "COMMENTED", let c = a["comment"], let id = c["id"]?.idText else { return nil }
                var version: Int? = nil
                if case .number(let v)? = c["version"] { version = Int(v) }
                return ExistingComment(id: id, body: c["text"]?.stringValue ?? "", version: version)
            }
            return (nil, found, json["isLastPage"] == .bool(false))
        }, edit: { existing in
            await call.send(.PUT, "\(pull)/comments/\(existing.id)", headers: headers,
                            json: .object(["text": .string(comment.text), "version": .number(Double(existing.version ?? 0))]),
                            notFound: "comment \(existing.id) vanished").0
        }, create: {
            await call.send(.POST, "\(pull)/comments", headers: headers, json: .object(["text": .string(comment.text)]), notFound: missing).0
        })
    }

    /// `whoami` answers the authenticated user name as plain text (empty when anonymous).
    public func identify() async -> (CallOutcome, identity: String?) {
        var (outcome, response) = await call.send(.GET, "\(root)/plugins/servlet/applinks/whoami", headers: headers,
                                                  notFound: "\(root)/plugins/servlet/applinks/whoami not found: is baseURL the Bitbucket instance root?")
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        let user = String(decoding: response.body, as: UTF8.self).trimmed
        guard !user.isEmpty else {
            outcome.errorClass = .permanent
            outcome.message = "the token is not accepted: Bitbucket treats the request as anonymous"
            return (outcome, nil)
        }
        return (outcome, user)
    }
}
