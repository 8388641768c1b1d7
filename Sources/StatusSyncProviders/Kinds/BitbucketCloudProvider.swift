import Foundation
import NIOHTTP1
import StatusSyncCore

/// Bitbucket Cloud build statuses (docs/provider-matrix.md#bitbucket): upserted by `key`, `url` required,
/// `refname` associates the status with a pull request.
public struct BitbucketCloudProvider: ProviderType {
    public static let traits = ProviderTraits(
        kind: "bitbucket-cloud", defaultBaseURL: "https://api.bitbucket.org",
        baseURLHelp: "the API root, https://api.bitbucket.org (statussync adds /2.0)",
        requiresTargetURL: true, repoExample: "workspace/repo"
    )

    static let descriptionLimit = 255

    public static func providerState(for state: NeutralState) -> String { Bitbucket.state(for: state, cancelled: "STOPPED") }

    public static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> BitbucketCloudProvider {
        BitbucketCloudProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http)
    }

    public let name: String
    public let pacing: Pacing?
    /// `<API root>/2.0`.
    let api: String
    let call: ProviderCall

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.api = ProviderCall.root(baseURL, "/2.0")
        self.pacing = pacing
        self.call = ProviderCall(http: http, token: token, now: now, label: "Bitbucket", remainingHeader: "X-RateLimit-Remaining", resetHeader: "X-RateLimit-Reset")
    }

    var headers: [(String, String)] { [("Authorization", Bitbucket.authorization(call.token)), ("Accept", "application/json"), ("User-Agent", "statussync")] }

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        var body: [String: JSONValue] = [
            "key": .string(Bitbucket.key(status.context)),
            "name": .string(status.context),
            "state": .string(Self.providerState(for: status.state)),
            "description": .string(status.description.truncated(toScalars: Self.descriptionLimit)),
            "url": .string(status.targetURL ?? ""),
        ]
        if let ref = status.ref { body["refname"] = .string(ref) }
        let (outcome, _) = await call.send(.POST, "\(api)/repositories/\(status.repo)/commit/\(status.sha)/statuses/build", headers: headers,
                                           json: .object(body), notFound: "repository \(status.repo) or commit \(status.sha) not found, or the token cannot see it")
        return outcome
    }

    /// The PR's source commit (Bitbucket gives a 12-character hash: the full one is looked up, so
    /// every update of the commit shares one subject) and its source branch.
    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?) {
        var (outcome, response) = await call.send(.GET, "\(api)/repositories/\(repo)/pullrequests/\(pr)", headers: headers,
                                                  notFound: "pull request #\(pr) not found in \(repo)")
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        let json = try? JSONValue.parse(response.body)
        guard let short = json?["source"]?["commit"]?["hash"]?.stringValue, !short.isEmpty else {
            outcome.errorClass = .transient
            outcome.message = "pull request #\(pr) answer has no source.commit.hash"
            return (outcome, nil)
        }
        let branch = json?["source"]?["branch"]?["name"]?.stringValue
        guard short.count < 40 else { return (outcome, PullRequestHead(sha: short.lowercased(), sourceBranch: branch)) }
        var (full, commit) = await call.send(.GET, "\(api)/repositories/\(repo)/commit/\(short)", headers: headers,
                                             notFound: "commit \(short) of pull request #\(pr) not found in \(repo)")
        guard full.errorClass == .ok, let commit else { return (full, nil) }
        guard let hash = (try? JSONValue.parse(commit.body))?["hash"]?.stringValue, hash.count == 40 else {
            full.errorClass = .transient
            full.message = "commit \(short) answer has no full hash"
            return (full, nil)
        }
        return (full, PullRequestHead(sha: hash.lowercased(), sourceBranch: branch))
    }

    public func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome {
        let comments = "\(api)/repositories/\(repo)/pullrequests/\(comment.pr)/comments"
        let missing = "pull request #\(comment.pr) not found in \(repo)"
        let text: JSONValue = .object(["content": .object(["raw": .string(comment.text)])])
        return await CommentUpsert.run(comment, page: { n in
            let (outcome, response) = await call.send(.GET, "\(comments)?pagelen=100&page=\(n)", headers: headers, notFound: missing)
            guard outcome.errorClass == .ok, let response else { return (outcome, [], false) }
            guard let json = try? JSONValue.parse(response.body), case .array(let items)? = json["values"] else {
                return (.unexpected("comments answer has no values", after: outcome), [], false)
            }
            let found = items.compactMap { c in c["id"]?.idText.map { ExistingComment(id: $0, body: c["content"]?["raw"]?.stringValue ?? "") } }
            // Follow the next page only while Bitbucket's own link stays on this origin.
            return (nil, found, CommentUpsert.sameOrigin(json["next"]?.stringValue, as: api) != nil)
        }, edit: { existing in
            await call.send(.PUT, "\(comments)/\(existing.id)", headers: headers, json: text, notFound: "comment \(existing.id) vanished").0
        }, create: {
            await call.send(.POST, comments, headers: headers, json: text, notFound: missing).0
        })
    }

    public func identify() async -> (CallOutcome, identity: String?) {
        let (outcome, response) = await call.send(.GET, "\(api)/user", headers: headers, notFound: "\(api)/user not found: is baseURL https://api.bitbucket.org?")
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        let json = try? JSONValue.parse(response.body)
        return (outcome, json?["username"]?.stringValue ?? json?["display_name"]?.stringValue ?? "(unknown user)")
    }
}
