import Foundation
import NIOHTTP1
import StatusSyncCore

/// Gitea and Forgejo commit statuses (docs/provider-matrix.md#gitea).
public struct GiteaProvider: ProviderType {
    public static let traits = ProviderTraits(
        kind: "gitea", defaultBaseURL: nil,
        baseURLHelp: "the instance root, e.g. https://gitea.example.com (statussync adds /api/v1)"
    )

    static let descriptionLimit = 1024

    public static func providerState(for state: NeutralState) -> String {
        switch state {
        case .pending, .running: return "pending"
        case .success, .skipped: return "success"
        case .failure: return "failure"
        case .error, .cancelled: return "error"
        }
    }

    public static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> GiteaProvider {
        GiteaProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http)
    }

    public let name: String
    public let pacing: Pacing?
    /// `<instance root>/api/v1`.
    let api: String
    let call: ProviderCall

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.api = ProviderCall.root(baseURL, "/api/v1")
        self.pacing = pacing
        self.call = ProviderCall(http: http, token: token, now: now, label: "Gitea")
    }

    var headers: [(String, String)] { [("Authorization", "token \(call.token)"), ("Accept", "application/json"), ("User-Agent", "statussync")] }

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        var body: [String: JSONValue] = [
            "state": .string(Self.providerState(for: status.state)),
            "context": .string(status.context),
            "description": .string(status.description.truncated(toScalars: Self.descriptionLimit)),
        ]
        if let url = status.targetURL { body["target_url"] = .string(url) }
        let (outcome, _) = await call.send(.POST, "\(api)/repos/\(status.repo)/statuses/\(status.sha)", headers: headers, json: .object(body),
                                           notFound: "repository \(status.repo) or commit \(status.sha) not found, or the token cannot see it")
        return outcome
    }

    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?) {
        let (outcome, response) = await call.send(.GET, "\(api)/repos/\(repo)/pulls/\(pr)", headers: headers,
                                                  notFound: "pull request #\(pr) not found in \(repo)")
        return ProviderCall.head(outcome, response, what: "pull request #\(pr)", sha: { $0["head"]?["sha"]?.stringValue }, branch: { $0["head"]?["ref"]?.stringValue })
    }

    public func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome {
        let issues = "\(api)/repos/\(repo)/issues"
        let missing = "pull request #\(comment.pr) not found in \(repo)"
        let text: JSONValue = .object(["body": .string(comment.text)])
        return await CommentUpsert.run(comment, page: { n in
            let (outcome, response) = await call.send(.GET, "\(issues)/\(comment.pr)/comments?page=\(n)&limit=50", headers: headers, notFound: missing)
            guard outcome.errorClass == .ok, let response else { return (outcome, [], false) }
            guard case .array(let items)? = try? JSONValue.parse(response.body) else { return (.unexpected("comments answer is not a list", after: outcome), [], false) }
            let comments = items.compactMap { c in c["id"]?.idText.map { ExistingComment(id: $0, body: c["body"]?.stringValue ?? "") } }
            return (nil, comments, items.count == 50)
        }, edit: { existing in
            await call.send(.PATCH, "\(issues)/comments/\(existing.id)", headers: headers, json: text, notFound: "comment \(existing.id) vanished").0
        }, create: {
            await call.send(.POST, "\(issues)/\(comment.pr)/comments", headers: headers, json: text, notFound: missing).0
        })
    }

    public func identify() async -> (CallOutcome, identity: String?) {
        let (outcome, response) = await call.send(.GET, "\(api)/user", headers: headers,
                                                  notFound: "\(api)/user not found: is baseURL the Gitea instance root?")
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        return (outcome, (try? JSONValue.parse(response.body))?["login"]?.stringValue ?? "(unknown login)")
    }
}
