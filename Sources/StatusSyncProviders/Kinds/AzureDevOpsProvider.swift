import Foundation
import NIOHTTP1
import StatusSyncCore
import Synchronization

/// Azure DevOps (Azure Repos) commit statuses, pull-request statuses and PR threads, REST
/// api-version 7.1 (docs/azure-devops.md; the fake's spec is Tests/…/Fixtures/provider-specs/azure-devops-git.json).
///
/// `baseURL` is the organisation URL (`https://dev.azure.com/ORG`) or an Azure DevOps Server
/// collection URL; `repo` is `PROJECT/REPOSITORY`. A PAT is sent as Basic with an empty user.
public struct AzureDevOpsProvider: ProviderType {
    public static let traits = ProviderTraits(
        kind: "azure-devops", defaultBaseURL: nil,
        baseURLHelp: "the organisation URL, e.g. https://dev.azure.com/ORG, or an Azure DevOps Server collection URL such as https://tfs.example.com/tfs/DefaultCollection",
        repoExample: "PROJECT/REPOSITORY", requiresFullSHA: true, splitsContextAtSlash: true, repoSpaces: true
    )

    /// The spec documents no limit for a status description (GitStatus.description is a plain
    /// string); 1024 scalars keeps a status readable and well inside what the service stores.
    static let descriptionLimit = 1024
    /// The genre of a context without a `/`.
    static let defaultGenre = "argo-workflows"
    static let apiVersion = "api-version=7.1"
    /// A thread property that also carries the marker (the first comment carries it as hidden text).
    static let markerProperty = "statussync.comment"
    /// The longest wait slept inside a call when a previous answer asked for one (Retry-After on a 2xx).
    static let inlineWaitLimit: Duration = .seconds(10)
    static let backoffBase: Duration = .seconds(5)
    static let backoffCap: Duration = .seconds(300)
    static let signInPage = "Azure DevOps answered with a sign-in page: the PAT is invalid or expired"

    public static func providerState(for state: NeutralState) -> String {
        switch state {
        case .pending, .running: return "pending"
        case .success: return "succeeded"
        case .failure: return "failed"
        case .error, .cancelled: return "error"
        case .skipped: return "notApplicable"
        }
    }

    public static func make(config: ProviderConfig, token: String, http: ProviderHTTPClient) throws(ConfigError) -> AzureDevOpsProvider {
        AzureDevOpsProvider(name: config.name, baseURL: config.baseURL, token: token, pacing: config.pacing, http: http)
    }

    public let name: String
    public let pacing: Pacing?
    /// The organisation (or collection) URL without a trailing slash.
    let root: String
    let call: ProviderCall
    private let state: State

    /// What one client remembers between calls: when Azure asked it to wait, how many rate limits
    /// in a row came without a wait (for the exponential backoff), and the iteration of each
    /// pull-request head already looked up.
    final class State: Sendable {
        let notBefore = Mutex<Date?>(nil)
        let rateLimitStreak = Mutex(0)
        let iterations = Mutex<[String: Int]>([:])
    }

    public init(name: String, baseURL: String, token: String, pacing: Pacing?, http: ProviderHTTPClient,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.name = name
        self.root = ProviderCall.root(baseURL)
        self.pacing = pacing
        self.call = ProviderCall(http: http, token: token, now: now, label: "Azure DevOps", defaultRateLimitWait: Self.backoffBase,
                                 remainingHeader: "X-RateLimit-Remaining", resetHeader: "X-RateLimit-Reset")
        self.state = State()
    }

    /// Basic with an empty user, and no redirect to a sign-in page for a credential Azure rejects.
    var headers: [(String, String)] {
        [
            ("Authorization", "Basic " + Data(":\(call.token)".utf8).base64EncodedString()),
            ("X-TFS-FedAuthRedirect", "Suppress"),
            ("Accept", "application/json"),
            ("User-Agent", "statussync"),
        ]
    }

    /// `ci/argo` → (`ci`, `argo`); `a/b/c` → (`a/b`, `c`); `argo` → (`argo-workflows`, `argo`).
    static func genreAndName(_ context: String) -> (genre: String, name: String) {
        guard let slash = context.lastIndex(of: "/") else { return (defaultGenre, context) }
        return (String(context[..<slash]), String(context[context.index(after: slash)...]))
    }

    /// `PROJECT/REPOSITORY` → `{root}/PROJECT/_apis/git/repositories/REPOSITORY`, names escaped.
    func repository(_ repo: String) -> String {
        let parts = repo.split(separator: "/", maxSplits: 1).map(String.init)
        let project = parts.first ?? ""
        let repository = parts.count > 1 ? parts[1] : ""
        return "\(root)/\(project.pathSegmentEncoded)/_apis/git/repositories/\(repository.pathSegmentEncoded)"
    }

    // MARK: Statuses

    public func postStatus(_ status: StatusDelivery) async -> CallOutcome {
        let (genre, contextName) = Self.genreAndName(status.context)
        var body: [String: JSONValue] = [
            "state": .string(Self.providerState(for: status.state)),
            "description": .string(status.description.truncated(toScalars: Self.descriptionLimit)),
            "context": .object(["name": .string(contextName), "genre": .string(genre)]),
        ]
        if let url = status.targetURL { body["targetUrl"] = .string(url) }
        let repo = repository(status.repo)
        let (outcome, _) = await send(.POST, "\(repo)/commits/\(status.sha)/statuses?\(Self.apiVersion)", json: .object(body),
                                      notFound: "repository \(status.repo) or commit \(status.sha) not found, or the token cannot see it")
        guard outcome.errorClass == .ok, let pr = status.pr else { return outcome }

        // The same status on the pull request, on the iteration whose source commit is this sha,
        // so branch policies on PR status see it.
        let (failed, iteration) = await iteration(repo: status.repo, pr: pr, sha: status.sha)
        guard let iteration else {
            var done = failed ?? outcome
            done.duration += outcome.duration
            return done
        }
        body["iterationId"] = .number(Double(iteration))
        var (prOutcome, _) = await send(.POST, "\(repo)/pullRequests/\(pr)/statuses?\(Self.apiVersion)", json: .object(body),
                                        notFound: "pull request \(pr) not found in \(status.repo)")
        prOutcome.startedAt = outcome.startedAt
        prOutcome.duration += outcome.duration
        return prOutcome
    }

    /// The id of the pull request's iteration whose `sourceRefCommit` is `sha` (the newest, if
    /// several). Nil with an `.ok` outcome when no iteration has that commit (nothing to attach a
    /// PR status to), nil with the failure when the lookup failed.
    func iteration(repo: String, pr: Int, sha: String) async -> (CallOutcome?, Int?) {
        let key = "\(repo)\u{1F}\(pr)\u{1F}\(sha)"
        if let known = state.iterations.withLock({ $0[key] }) { return (nil, known) }
        let (outcome, response) = await send(.GET, "\(repository(repo))/pullRequests/\(pr)/iterations?\(Self.apiVersion)",
                                             notFound: "pull request \(pr) not found in \(repo)")
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        guard let items = Self.list(response) else { return (.unexpected("pull request \(pr) iterations answer is not a list", after: outcome), nil) }
        let matching = items.compactMap { item -> Int? in
            guard item["sourceRefCommit"]?["commitId"]?.stringValue?.lowercased() == sha.lowercased(), case .number(let id)? = item["id"] else { return nil }
            return Int(id)
        }
        guard let id = matching.max() else {
            var done = outcome
            done.message = "commit status delivered; no iteration of pull request \(pr) has source commit \(sha), so no pull-request status was posted"
            return (done, nil)
        }
        state.iterations.withLock { cache in
            if cache.count >= 4096 { cache.removeAll() }
            cache[key] = id
        }
        return (nil, id)
    }

    public func resolvePullRequestHead(repo: String, pr: Int) async -> (CallOutcome, PullRequestHead?) {
        let (outcome, response) = await send(.GET, "\(repository(repo))/pullRequests/\(pr)?\(Self.apiVersion)",
                                             notFound: "pull request \(pr) not found in \(repo)")
        return ProviderCall.head(outcome, response, what: "pull request \(pr)", sha: { $0["lastMergeSourceCommit"]?["commitId"]?.stringValue },
                                 branch: { json in
                                     json["sourceRefName"]?.stringValue.map { $0.hasPrefix("refs/heads/") ? String($0.dropFirst("refs/heads/".count)) : $0 }
                                 })
    }

    // MARK: Sticky comment (one PR thread per context)

    public func upsertComment(repo: String, comment: StickyComment) async -> CallOutcome {
        let threads = "\(repository(repo))/pullRequests/\(comment.pr)/threads"
        let missing = "pull request \(comment.pr) not found in \(repo)"
        var continuation: String? = nil
        return await CommentUpsert.run(comment, page: { _ in
            var url = "\(threads)?\(Self.apiVersion)"
            if let continuation { url += "&continuationToken=\(continuation.pathSegmentEncoded)" }
            let (outcome, response) = await send(.GET, url, notFound: missing)
            guard outcome.errorClass == .ok, let response else { return (outcome, [], false) }
            guard let items = Self.list(response) else { return (.unexpected("threads answer is not a list", after: outcome), [], false) }
            let found = items.compactMap { Self.statussyncComment(in: $0, marker: comment.marker) }
            // The spec returns every thread in one answer; should the service page the list, it
            // says so with a continuation token header.
            continuation = response.header("x-ms-continuationtoken").flatMap { $0.isEmpty ? nil : $0 }
            return (nil, found, continuation != nil)
        }, edit: { existing in
            await send(.PATCH, "\(threads)/\(existing.id.replacingOccurrences(of: "/", with: "/comments/"))?\(Self.apiVersion)",
                       json: .object(["content": .string(comment.text)]), notFound: "thread comment \(existing.id) vanished").0
        }, create: {
            let thread: JSONValue = .object([
                "comments": .array([.object(["parentCommentId": .number(0), "content": .string(comment.text), "commentType": .string("text")])]),
                // Closed: an informational thread must not hold up the "resolve all comments" policy.
                "status": .string("closed"),
                "properties": .object([Self.markerProperty: .string(comment.marker)]),
            ])
            return await send(.POST, "\(threads)?\(Self.apiVersion)", json: thread, notFound: missing).0
        })
    }

    /// The first comment of a thread that carries the marker (in its text or as the thread
    /// property), as `threadId/commentId`. A thread found by its property alone is reported as the
    /// bare marker, so it is rewritten with the full text.
    static func statussyncComment(in thread: JSONValue, marker: String) -> ExistingComment? {
        guard let threadID = thread["id"]?.idText, thread["isDeleted"] != .bool(true),
              case .array(let comments)? = thread["comments"] else { return nil }
        let first = comments.filter { $0["isDeleted"] != .bool(true) && ($0["parentCommentId"]?.idText ?? "0") == "0" }
            .min { Int($0["id"]?.idText ?? "") ?? .max < Int($1["id"]?.idText ?? "") ?? .max }
        guard let first, let commentID = first["id"]?.idText else { return nil }
        let content = first["content"]?.stringValue ?? ""
        let property = thread["properties"]?[markerProperty]
        let byProperty = (property?["$value"]?.stringValue ?? property?.stringValue) == marker
        guard content.contains(marker) || byProperty else { return nil }
        return ExistingComment(id: "\(threadID)/\(commentID)", body: content.contains(marker) ? content : marker)
    }

    // MARK: Identity

    /// `connectionData` takes no api-version (7.1 accepts only a preview version there).
    public func identify() async -> (CallOutcome, identity: String?) {
        var (outcome, response) = await send(.GET, "\(root)/_apis/connectionData",
                                             notFound: "\(root)/_apis/connectionData not found: is baseURL the organisation URL (https://dev.azure.com/ORG)?")
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        let user = (try? JSONValue.parse(response.body))?["authenticatedUser"]
        guard let user, let identity = user["customDisplayName"]?.stringValue ?? user["providerDisplayName"]?.stringValue, !identity.isEmpty else {
            outcome.errorClass = .permanent
            outcome.message = "the token is not accepted: Azure DevOps names no authenticated user; check tokenFile/tokenEnv"
            return (outcome, nil)
        }
        return (outcome, identity)
    }

    // MARK: Requests and their answers

    /// Sends one request, after any wait an earlier answer asked for.
    func send(_ method: HTTPMethod, _ url: String, json: JSONValue? = nil, notFound: String) async -> (CallOutcome, ProviderHTTPClient.Response?) {
        if let until = state.notBefore.withLock({ $0 }) {
            let wait = until.timeIntervalSince(call.now())
            if wait > 0 {
                let duration = Duration.milliseconds(Int64(wait * 1000))
                guard duration <= Self.inlineWaitLimit else {
                    return (CallOutcome(errorClass: .rateLimited(wait: duration), httpStatus: nil,
                                        message: "Azure DevOps asked to wait (Retry-After) before the next request", startedAt: call.now(), duration: .zero), nil)
                }
                try? await Task.sleep(for: duration)
            }
            state.notBefore.withLock { if $0 == until { $0 = nil } }
        }
        return await call.send(method, url, headers: headers, json: json, notFound: notFound, special: classify)
    }

    /// Azure specifics: a 203 or a non-JSON 2xx is the sign-in page of a rejected
    /// PAT; a 2xx with Retry-After delays the next request; 429, or any error answer with
    /// Retry-After or X-RateLimit-Delay, is a rate limit. Everything else: the common rules.
    var classify: ProviderCall.Classify {
        let call = self.call
        let state = self.state
        return { response, message in
            let status = response.status
            if (200..<300).contains(status) {
                guard status != 203, Self.isJSON(response) else {
                    return (.permanent, "bad credentials: \(Self.signInPage) (HTTP \(status), \(response.header("Content-Type") ?? "no content type")); check tokenFile/tokenEnv")
                }
                state.rateLimitStreak.withLock { $0 = 0 }
                if let wait = RateLimitHeaders.wait(header: response.header, remainingName: "-", resetName: "-", now: call.now()), wait > .zero {
                    state.notBefore.withLock { $0 = call.now().addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18) }
                }
                return nil
            }
            guard status == 429 || response.header("Retry-After") != nil || response.header("X-RateLimit-Delay") != nil else { return nil }
            return (.rateLimited(wait: Self.rateLimitWait(response, now: call.now(), state: state)), message ?? "rate limited (HTTP \(status))")
        }
    }

    /// Retry-After; else until X-RateLimit-Reset (plus 1 s); else 5 s doubling per rate limit in a
    /// row, up to 5 minutes.
    static func rateLimitWait(_ response: ProviderHTTPClient.Response, now: Date, state: State) -> Duration {
        if let wait = RateLimitHeaders.wait(header: response.header, remainingName: "-", resetName: "-", now: now) { return wait }
        if let reset = response.header("X-RateLimit-Reset").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            let until = Date(timeIntervalSince1970: reset).timeIntervalSince(now) + 1
            if until > 1 { return .milliseconds(Int64(until * 1000)) }
        }
        let streak = state.rateLimitStreak.withLock { s in
            s += 1
            return s
        }
        return min(backoffCap, backoffBase * (1 << min(streak - 1, 10)))
    }

    /// Whether an answer's body is JSON (or empty), as every endpoint used here answers.
    static func isJSON(_ response: ProviderHTTPClient.Response) -> Bool {
        if let type = response.header("Content-Type")?.lowercased(), type.contains("html") { return false }
        var bytes = response.body[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return true }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
    }

    /// A list answer: Azure wraps lists as `{count, value}`; a bare array is taken too.
    static func list(_ response: ProviderHTTPClient.Response) -> [JSONValue]? {
        switch try? JSONValue.parse(response.body) {
        case .array(let items)?: return items
        case .object(let fields)?:
            if case .array(let items)? = fields["value"] { return items }
            return nil
        default: return nil
        }
    }
}
