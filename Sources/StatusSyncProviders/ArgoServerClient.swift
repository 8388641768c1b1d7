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

    /// `PUT /api/v1/workflows/{namespace}/{name}/resubmit` with `memoized: false`; the new
    /// workflow's name when the server answers it.
    public func resubmit(namespace: String, name: String) async -> (CallOutcome, String?) {
        // Read at every call: a mounted service-account token is rotated in place.
        var token = ""
        if let tokenFile {
            do {
                token = try SecretFile.read(tokenFile, what: "argoServer.tokenFile")
            } catch {
                return (CallOutcome(errorClass: .transient, httpStatus: nil, message: error.message, startedAt: now(), duration: .zero), nil)
            }
            // `argo auth token` prints the header value, "Bearer " included.
            if token.lowercased().hasPrefix("bearer ") { token = String(token.dropFirst(7)).trimmed }
        }
        let call = ProviderCall(http: http, token: token, now: now, label: "the Argo Server")
        var headers = [("Accept", "application/json")]
        if !token.isEmpty { headers.append(("Authorization", "Bearer \(token)")) }
        let body: JSONValue = .object(["namespace": .string(namespace), "name": .string(name), "memoized": .bool(false)])
        let (outcome, response) = await call.send(
            .PUT, "\(baseURL)/api/v1/workflows/\(namespace.pathSegmentEncoded)/\(name.pathSegmentEncoded)/resubmit",
            headers: headers, json: body,
            notFound: "workflow \(namespace)/\(name) not found on the Argo Server (deleted, or only in the workflow archive)",
            special: { response, message in
                switch response.status {
                case 401:
                    return (.permanent, "the Argo Server rejected the token (\(message ?? "401")): check argoServer.tokenFile")
                case 403:
                    return (.permanent, "the Argo Server's account may not resubmit workflows in \(namespace) (\(message ?? "403")): grant it get and create on workflows there")
                default:
                    return nil
                }
            })
        guard outcome.errorClass == .ok, let response else { return (outcome, nil) }
        let created = (try? JSONValue.parse(response.body))?["metadata"]?["name"]?.stringValue
        return (outcome, created)
    }
}
