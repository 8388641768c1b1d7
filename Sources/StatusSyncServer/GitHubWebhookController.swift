import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import StatusSyncCore
import StatusSyncDelivery
import StatusSyncProviders
import StatusSyncStore

/// `POST /api/v1/github/webhook`: GitHub's deliveries to the GitHub App, of which statussync acts
/// on one kind: a `check_run` asking to re-run a workflow whose check run statussync made
/// (docs/design.md#re-run). The signature is the only auth: the agent token is not asked for.
///
/// Order: body (400/413), `X-Hub-Signature-256` against each provider's webhook secret (401,
/// nothing recorded), JSON (400), then the event: a re-run request is recorded once per
/// `X-GitHub-Delivery` and answered 202 at once; everything else is answered 200 and not recorded.
public struct GitHubWebhookController: Sendable {
    let secrets: WebhookSecrets
    let store: any RerunStore
    let delivery: DeliveryService?
    /// Without an Argo Server a request is recorded as failed, saying so (the button is not
    /// offered then, but GitHub's own Re-run still sends `rerequested`).
    let canResubmit: Bool
    let state: ServerState
    let maxBodyBytes: Int
    let logger: Logger

    public static let path = "/api/v1/github/webhook"
    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!
    static let eventHeader = HTTPField.Name("X-GitHub-Event")!
    static let deliveryHeader = HTTPField.Name("X-GitHub-Delivery")!

    public init(secrets: WebhookSecrets, store: any RerunStore, delivery: DeliveryService?, canResubmit: Bool, state: ServerState,
                maxBodyBytes: Int, logger: Logger) {
        self.secrets = secrets
        self.store = store
        self.delivery = delivery
        self.canResubmit = canResubmit
        self.state = state
        // A check_run delivery repeats the run's page (up to 64 KiB of summary) with the repository.
        self.maxBodyBytes = max(maxBodyBytes, 4 << 20)
        self.logger = logger
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in
            await self.receive(request)
        }
    }

    func receive(_ request: Request) async -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return answer("invalid", JSONResponse.error(.contentTooLarge, "statussync: webhook body larger than \(maxBodyBytes) bytes"))
        } catch {
            return answer("invalid", JSONResponse.error(.badRequest, "statussync: the webhook body did not arrive in full (\(error))"))
        }
        let raw = Data(buffer: buffer)
        let signature = request.headers[Self.signatureHeader]
        guard let provider = secrets.provider(signing: raw, signature: signature) else {
            return answer("unauthorized", JSONResponse.error(.unauthorized, secrets.isEmpty
                ? "statussync takes no GitHub webhooks: no github provider has webhookSecretFile; set it to the GitHub App's webhook secret"
                : signature == nil
                ? "statussync: missing X-Hub-Signature-256; set the GitHub App's webhook secret and give the same secret to statussync as webhookSecretFile"
                : "statussync: X-Hub-Signature-256 does not match; the GitHub App's webhook secret and the provider's webhookSecretFile must be the same"))
        }
        if state.isDraining {
            return answer("unavailable", JSONResponse.error(.serviceUnavailable, "statussync is shutting down; redeliver the webhook from the GitHub App's settings"))
        }
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(Self.jsonPayload(raw, contentType: request.headers[.contentType]))
        } catch {
            return answer("invalid", JSONResponse.error(.badRequest, "statussync: the webhook body is not JSON (\(error.reason.excerpt(100))); set the GitHub App's webhook content type to application/json"))
        }
        let event = request.headers[Self.eventHeader]
        switch GitHubWebhook.classify(event: event, payload: payload) {
        case .ignored(let why):
            logger.debug("GitHub webhook ignored", metadata: ["reason": "\(why)"])
            return answer("ignored", JSONResponse.make(.ok, Self.ignored(why)))
        case .rerun(let rerun):
            guard let deliveryID = request.headers[Self.deliveryHeader]?.trimmed, !deliveryID.isEmpty, deliveryID.utf8.count <= 200 else {
                return answer("invalid", JSONResponse.error(.badRequest, "statussync: missing X-GitHub-Delivery header"))
            }
            let record = RerunRequest(deliveryID: deliveryID, provider: provider, recordID: rerun.recordID, checkRunID: rerun.checkRunID,
                                      repo: rerun.repo, action: rerun.action.rawValue, sender: rerun.sender)
            let failure = canResubmit ? nil : "argoServer is not configured: add argoServer: {baseURL, tokenFile} to the statussync config to let Re-run resubmit workflows"
            do {
                switch try await store.recordRerun(record, failure: failure) {
                case .recorded(let id, let workflow):
                    StatusMetrics.rerun(failure == nil ? "queued" : "failed")
                    logger.notice("re-run requested from GitHub", metadata: [
                        "rerun": "\(id)", "workflow": "\(workflow.namespace)/\(workflow.name)", "action": "\(rerun.action.rawValue)",
                        "sender": "\(rerun.sender ?? "-")", "delivery": "\(deliveryID)",
                    ])
                    if let failure { logger.warning("re-run cannot be resubmitted", metadata: ["rerun": "\(id)", "error": "\(failure)"]) }
                    delivery?.rerunRecorded()
                    return answer("recorded", JSONResponse.make(.accepted, "{\"rerun\":\(id)}"))
                case .repeated(let id):
                    return answer("repeated", JSONResponse.make(.accepted, "{\"rerun\":\(id),\"repeated\":true}"))
                case .unknownRun:
                    return answer("ignored", JSONResponse.make(.ok, Self.ignored("no check run of statussync's matches external_id statussync:\(rerun.recordID) in \(rerun.repo)")))
                }
            } catch {
                logger.error("cannot record a re-run request; GitHub shows the delivery as failed and it can be redelivered", metadata: ["error": "\(error)"])
                return answer("unavailable", JSONResponse.error(.serviceUnavailable, "statussync: the re-run request could not be recorded; redeliver it"))
            }
        }
    }

    private func answer(_ result: String, _ response: Response) -> Response {
        StatusMetrics.webhook(result)
        return response
    }

    private static func ignored(_ why: String) -> String {
        var out = "{\"ignored\":"
        JSONValue.writeQuoted(why, into: &out)
        return out + "}"
    }

    /// The JSON of a delivery: the body itself, or its `payload` field when the App's webhook
    /// sends forms (`application/x-www-form-urlencoded`).
    static func jsonPayload(_ raw: Data, contentType: String?) -> Data {
        guard let contentType, contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else { return raw }
        let form = String(decoding: raw, as: UTF8.self)
        for pair in form.split(separator: "&") where pair.hasPrefix("payload=") {
            let value = pair.dropFirst("payload=".count).replacingOccurrences(of: "+", with: " ")
            return Data((value.removingPercentEncoding ?? value).utf8)
        }
        return raw
    }
}
