import Foundation
import StatusSyncCore

/// The Argo Server's API, used for one thing: resubmitting a workflow when a developer presses
/// Re-run on its check run (docs/design.md#re-run). Calls are classified like provider calls:
/// 5xx and timeouts are retried, 429 waits, other 4xx give up with the server's message.
public struct ArgoServerClient: Sendable {
    public let baseURL: String
    let tokenFile: String?
    let http: ProviderHTTPClient
    let now: @Sendable () -> Date

    public init(_ config: ArgoServerConfig, http: ProviderHTTPClient, now: @escaping @Sendable () -> Date = { Date() }) {
        self.baseURL = ProviderCall.root(config.baseURL)
        self.tokenFile = config.tokenFile
        self.http = http
        self.now = now
    }

    /// The label the Argo Server puts on a resubmitted workflow, naming the one it came from.
    public static let resubmittedFromLabel = "workflows.argoproj.io/resubmitted-from-workflow"
    /// How far before the request a resubmit found by `findResubmitted` may have been created
    /// and still count: the Argo Server's clock is not ours, and it keeps whole seconds.
    public static let clockMargin: TimeInterval = 30

    /// `PUT /api/v1/workflows/{namespace}/{name}/resubmit` with `memoized: false`; the new
    /// workflow's name when the server answers it.
    public func resubmit(namespace: String, name: String) async -> (CallOutcome, String?) {
        let call: ProviderCall, headers: [(String, String)]
        switch authorized() {
        case .success(let ready): (call, headers) = ready
        case .failure(let refused): return (refused.outcome, nil)
        }
        let body: JSONValue = .object(["namespace": .string(namespace), "name": .string(name), "memoized": .bool(false)])
        let (outcome, response) = await call.send(
            .PUT, "\(baseURL)/api/v1/workflows/\(namespace.pathSegmentEncoded)/\(name.pathSegmentEncoded)/resubmit",
            headers: headers, json: body,
            notFound: "workflow \(namespace)/\(name) not found on the Argo Server (deleted, or only in the workflow archive)",
            special: Self.authErrors(namespace: namespace, doing: "resubmit", grant: "get and create"))
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        let created = (try? JSONValue.parse(response.body))?["metadata"]?["name"]?.stringValue
        return (outcome, created)
    }

    /// Before resubmitting again after a try whose answer was lost: the workflow an earlier try
    /// may have created (docs/design.md#re-run). Lists `namespace`'s workflows labelled
    /// resubmitted-from `name`, asking for names and creation times only, and answers the oldest
    /// created since `since` (less `clockMargin`) that is not in `excluding` (the workflows other
    /// re-runs of statussync's made).
    public func findResubmitted(namespace: String, name: String, since: Date, excluding: Set<String>) async -> (CallOutcome, String?) {
        let call: ProviderCall, headers: [(String, String)]
        switch authorized() {
        case .success(let ready): (call, headers) = ready
        case .failure(let refused): return (refused.outcome, nil)
        }
        let selector = "\(Self.resubmittedFromLabel)=\(name)".pathSegmentEncoded
        let url = "\(baseURL)/api/v1/workflows/\(namespace.pathSegmentEncoded)?listOptions.labelSelector=\(selector)"
            + "&fields=items.metadata.name,items.metadata.creationTimestamp"
        let (outcome, response) = await call.send(
            .GET, url, headers: headers,
            notFound: "namespace \(namespace) not found on the Argo Server",
            special: Self.authErrors(namespace: namespace, doing: "list", grant: "list"))
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        guard let list = try? JSONValue.parse(response.body), list.objectValue != nil else {
            return (.unexpected("the Argo Server's workflow list is not a JSON object", after: outcome), nil)
        }
        // An empty list comes as `"items": null` or without items.
        let items: [JSONValue]
        switch list["items"] {
        case .array(let a)?: items = a
        case .null?, nil: items = []
        default: return (.unexpected("the Argo Server's workflow list has no items array", after: outcome), nil)
        }
        let earliest = since.addingTimeInterval(-Self.clockMargin)
        let found = items.compactMap { item -> (String, Date)? in
            guard let itemName = item["metadata"]?["name"]?.stringValue, !excluding.contains(itemName),
                  let text = item["metadata"]?["creationTimestamp"]?.stringValue,
                  let created = try? Date(text, strategy: .iso8601), created >= earliest else { return nil }
            return (itemName, created)
        }.min { $0.1 < $1.1 }
        return (outcome, found?.0)
    }

    /// `GET /api/v1/userinfo` (`statussync check`): proves the server is reachable and takes the
    /// token; the identity it names (the service account, else the subject), when it names one.
    public func identify() async -> (CallOutcome, String?) {
        let call: ProviderCall, headers: [(String, String)]
        switch authorized() {
        case .success(let ready): (call, headers) = ready
        case .failure(let refused): return (refused.outcome, nil)
        }
        let (outcome, response) = await call.send(
            .GET, "\(baseURL)/api/v1/userinfo", headers: headers,
            notFound: "\(baseURL) answers 404 for /api/v1/userinfo: is argoServer.baseURL the Argo Server (port 2746)?",
            special: { response, message in
                response.status == 401 ? (.permanent, "the Argo Server rejected the token (\(message ?? "401")): check argoServer.tokenFile") : nil
            })
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        guard let info = try? JSONValue.parse(response.body), info.objectValue != nil else {
            return (.unexpected("\(baseURL)/api/v1/userinfo did not answer JSON: is argoServer.baseURL the Argo Server?", after: outcome), nil)
        }
        if let name = info["serviceAccountName"]?.stringValue, !name.isEmpty {
            let namespace = info["serviceAccountNamespace"]?.stringValue ?? ""
            return (outcome, namespace.isEmpty ? name : "\(namespace)/\(name)")
        }
        return (outcome, info["subject"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// A call with the token (read at every call: a mounted service-account token is rotated in
    /// place), or the outcome that says why there is none.
    private func authorized() -> Result<(ProviderCall, [(String, String)]), OutcomeError> {
        var token = ""
        if let tokenFile {
            do {
                token = try SecretFile.read(tokenFile, what: "argoServer.tokenFile")
            } catch {
                return .failure(OutcomeError(CallOutcome(errorClass: .transient, httpStatus: nil, message: error.message, startedAt: now(), duration: .zero)))
            }
            // `argo auth token` prints the header value, "Bearer " included.
            if token.lowercased().hasPrefix("bearer ") { token = String(token.dropFirst(7)).trimmed }
        }
        var headers = [("Accept", "application/json")]
        if !token.isEmpty { headers.append(("Authorization", "Bearer \(token)")) }
        return .success((ProviderCall(http: http, token: token, now: now, label: "the Argo Server"), headers))
    }

    /// 401 and 403 name what to fix: the token, or the verbs (`grant`) the account needs on
    /// workflows to `doing` them.
    private static func authErrors(namespace: String, doing: String, grant: String) -> ProviderCall.Classify {
        { response, message in
            switch response.status {
            case 401:
                return (.permanent, "the Argo Server rejected the token (\(message ?? "401")): check argoServer.tokenFile")
            case 403:
                return (.permanent, "the Argo Server's account may not \(doing) workflows in \(namespace) (\(message ?? "403")): grant it \(grant) on workflows there")
            default:
                return nil
            }
        }
    }

    /// A `CallOutcome` carried as a `Result` failure.
    struct OutcomeError: Error {
        let outcome: CallOutcome
        init(_ outcome: CallOutcome) { self.outcome = outcome }
    }
}
