import Crypto
import Foundation
import Synchronization
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncServer
@testable import StatusSyncStore

/// Webhook deliveries shaped like provider-specs/github-webhook-check-run.json, signed like GitHub.
enum WebhookPayloads {
    /// The spec's example for `key` (`check_run.requested_action`, `check_run.rerequested`, `ping`),
    /// with the run, repository and action identifier of a test.
    static func checkRun(_ action: String, externalID: String, checkRunID: Int64, repo: String = "my-org/app",
                         identifier: String? = CheckRunDelivery.rerunIdentifier) throws -> Data {
        let spec = try JSONValue.parse(try TestPaths.githubWebhookSpec())
        guard case .object(var event)? = spec["examples"]?["check_run.\(action)"],
              case .object(var run)? = event["check_run"], case .object(var repository)? = event["repository"] else {
            throw TestFailure("no check_run.\(action) example in the webhook spec")
        }
        run["external_id"] = .string(externalID)
        run["id"] = .number(Double(checkRunID))
        run["status"] = .string("completed")
        run["conclusion"] = .string("failure")
        event["check_run"] = .object(run)
        repository["full_name"] = .string(repo)
        event["repository"] = .object(repository)
        if action == "requested_action" { event["requested_action"] = .object(["identifier": identifier.map(JSONValue.string) ?? .null]) }
        return Data(JSONValue.object(event).canonicalText.utf8)
    }

    static func ping() throws -> Data {
        let spec = try JSONValue.parse(try TestPaths.githubWebhookSpec())
        return Data(try #require(spec["examples"]?["ping"]).canonicalText.utf8)
    }

    /// `sha256=<hex HMAC-SHA256 of body keyed with secret>`.
    static func signature(_ body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    static func headers(event: String, delivery: String, body: Data, secret: String?) -> [(String, String)] {
        var h = [("Content-Type", "application/json"), ("User-Agent", "GitHub-Hookshot/044aadd"), ("X-GitHub-Event", event),
                 ("X-GitHub-Delivery", delivery), ("X-GitHub-Hook-Installation-Target-Type", "integration")]
        if let secret { h.append(("X-Hub-Signature-256", signature(body, secret: secret))) }
        return h
    }
}

@Suite("Re-run: the action button, the signed webhook and the resubmit (docs/design.md#re-run)")
struct RerunTests {
    static let argoToken = "argo-token-0123"

    @Test("Config: argoServer {baseURL, tokenFile, insecureSkipVerify} and webhookSecretFile on a github App provider; mistakes are named with the fix")
    func config() throws {
        func parse(_ yaml: String) throws -> AppConfig { try AppConfig.parse(yaml: yaml, source: "c.yaml", catalog: ProviderRegistry.catalog) }
        func error(_ yaml: String) -> String {
            do { _ = try parse(yaml); return "" } catch { return (error as? ConfigError)?.message ?? "\(error)" }
        }
        let app = "app: {appID: '1', installationID: '2', privateKeyFile: /k}"
        let ok = try parse("""
            argoServer: {baseURL: https://argo-server.argo:2746/, tokenFile: /t, insecureSkipVerify: true}
            providers:
              - {kind: github, checks: true, webhookSecretFile: /w, \(app)}
            """)
        #expect(ok.argoServer == ArgoServerConfig(baseURL: "https://argo-server.argo:2746", tokenFile: "/t", insecureSkipVerify: true))
        #expect(ok.providers[0].webhookSecretFile == "/w")
        #expect(try parse("argoServer: {baseURL: http://argo-server:2746}").argoServer?.tokenFile == nil)
        #expect(error("argoServer: {tokenFile: /t}").contains("argoServer.baseURL is missing"))
        #expect(error("argoServer: {baseURL: argo-server:2746}").contains("http(s) address of the Argo Server"))
        #expect(error("argoServer: {baseURL: http://a:1, insecureSkipVerify: true}").contains("plain http"))
        #expect(error("argoServer: {baseURL: http://a:1, token: x}").contains("unknown key argoServer.token"))
        #expect(error("providers:\n  - {kind: github, tokenFile: /t, webhookSecretFile: /w}").contains("webhookSecretFile needs app:"))
        #expect(error("providers:\n  - {kind: gitlab, tokenFile: /t, webhookSecretFile: /w}").contains("only for kind github"))
    }

    @Test("A large answer (a resubmitted workflow can be hundreds of KiB) is read up to 256 KiB and still counts: a call that was carried out is not retried for its size")
    func largeAnswer() async throws {
        let big = String(repeating: "x", count: 600 * 1024)
        try await FakeServer.run(install: { router in
            router.put("/big") { _, _ in FakeServer.json(.ok, "{\"metadata\":{\"name\":\"wf-2\"},\"pad\":\"\(big)\"}") }
        }, started: { port in Self.bigPort.withLock { $0 = port } }) {
            let http = ProviderHTTPClient(timeout: .seconds(20))
            let result = await http.send(method: .PUT, url: "http://127.0.0.1:\(Self.bigPort.withLock { $0 })/big", headers: [], body: nil)
            try await http.shutdown()
            guard case .success(let response) = result else { Issue.record("\(result)"); return }
            #expect(response.status == 200)
            #expect(response.body.count == ProviderHTTPClient.maxBodyBytes)
        }
    }
    static let bigPort = Mutex(0)

    @Test("X-Hub-Signature-256: GitHub's test vector verifies; another body, secret, prefix or a missing header does not")
    func signature() {
        let body = Data("Hello, World!".utf8)
        let secret = "It's a Secret to Everybody"
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        #expect(WebhookPayloads.signature(body, secret: secret) == expected)
        #expect(GitHubWebhook.verify(signature: expected, body: body, secret: secret))
        #expect(GitHubWebhook.verify(signature: expected.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="), body: body, secret: secret))
        #expect(!GitHubWebhook.verify(signature: expected, body: Data("Hello, World?".utf8), secret: secret))
        #expect(!GitHubWebhook.verify(signature: expected, body: body, secret: secret + "x"))
        #expect(!GitHubWebhook.verify(signature: expected.replacingOccurrences(of: "sha256=", with: "sha1="), body: body, secret: secret))
        #expect(!GitHubWebhook.verify(signature: String(expected.dropLast()), body: body, secret: secret))
        #expect(!GitHubWebhook.verify(signature: nil, body: body, secret: secret))
        #expect(!GitHubWebhook.verify(signature: expected, body: body, secret: ""))
    }

    @Test("A rotated webhook secret is taken without a restart: a delivery matching no secret re-reads the files (at most once per interval); an unreadable file keeps the secret read before")
    func secretRotation() throws {
        let dir = try TempDirectory()
        let file = dir.path("webhook-secret")
        try "old-secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        let body = try WebhookPayloads.ping()
        let secrets = try WebhookSecrets([.init(provider: "github", file: file)], reloadInterval: .zero)
        #expect(secrets.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "old-secret")) == "github")
        #expect(secrets.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "new-secret")) == nil)
        #expect(secrets.provider(signing: body, signature: nil) == nil)

        try "new-secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(secrets.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "new-secret")) == "github")
        #expect(secrets.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "old-secret")) == nil, "the old secret is gone")

        try FileManager.default.removeItem(atPath: file)
        #expect(secrets.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "new-secret")) == "github", "kept while the file is missing")

        // At most one read per interval: a secret rotated just after a read waits for the next one.
        try "first\n".write(toFile: file, atomically: true, encoding: .utf8)
        let slow = try WebhookSecrets([.init(provider: "github", file: file)], reloadInterval: .seconds(3600))
        try "second\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(slow.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "second")) == nil)
        #expect(slow.provider(signing: body, signature: WebhookPayloads.signature(body, secret: "first")) == "github")

        // At start a missing file is a config error naming the key.
        #expect(throws: ConfigError.self) { try WebhookSecrets([.init(provider: "github", file: dir.path("absent"))]) }
    }

    @Test("Events: our Re-run and GitHub's rerequested of a run with external_id statussync:<id> are requests; another App's action, a run without our id, ping and other events are not")
    func classify() throws {
        func parse(_ data: Data) throws -> JSONValue { try JSONValue.parse(data) }
        let ours = try parse(try WebhookPayloads.checkRun("requested_action", externalID: "statussync:7", checkRunID: 4000))
        guard case .rerun(let event) = GitHubWebhook.classify(event: "check_run", payload: ours) else { Issue.record("not a re-run"); return }
        #expect(event == .init(action: .requestedAction, recordID: 7, checkRunID: 4000, repo: "my-org/app", sender: "codebytere"))
        let rerequested = try parse(try WebhookPayloads.checkRun("rerequested", externalID: "statussync:9", checkRunID: 5))
        guard case .rerun(let again) = GitHubWebhook.classify(event: "check_run", payload: rerequested) else { Issue.record("not a re-run"); return }
        #expect(again.action == .rerequested && again.recordID == 9)

        // The spec's own examples, untouched: another App's identifier, and runs without an external_id.
        let spec = try JSONValue.parse(try TestPaths.githubWebhookSpec())
        for key in ["check_run.requested_action", "check_run.rerequested"] {
            let example = try #require(spec["examples"]?[key])
            guard case .ignored = GitHubWebhook.classify(event: "check_run", payload: example) else { Issue.record("\(key) was taken"); continue }
        }
        let otherAction = try parse(try WebhookPayloads.checkRun("requested_action", externalID: "statussync:7", checkRunID: 4000, identifier: "lgtm|26764"))
        let notOurs = try parse(try WebhookPayloads.checkRun("rerequested", externalID: "jenkins:42", checkRunID: 5))
        let cases: [(String?, JSONValue)] = [
            ("check_run", otherAction), ("check_run", notOurs), ("ping", try parse(try WebhookPayloads.ping())),
            ("check_suite", ours), (nil, ours), ("check_run", .object(["action": .string("created")])),
        ]
        for (event, payload) in cases {
            guard case .ignored = GitHubWebhook.classify(event: event, payload: payload) else { Issue.record("\(event ?? "nil") was taken"); continue }
        }
    }

    /// A failed check update delivered to `fake`; its record id (from the run's external_id) and GitHub's id.
    static func failedRun(_ store: SQLiteStore, _ fake: FakeGitHub, _ delivery: DeliveryService, context: String = "ci/argo",
                          workflow: WorkflowRef = CheckRunTests.workflowA) async throws -> (update: Int64, record: Int64, run: Int64) {
        let id = try await CheckRunTests.accepted(store, CheckRunTests.call("Failed", workflow: workflow, extra: ["context": context]), delivery)
        #expect(try await eventually { try await CheckRunTests.delivered(store, id) })
        let run = try #require(fake.checkRuns.first { $0.name == context && $0.externalID != nil && $0.conclusion == "failure" })
        let record = try #require(Int64(run.externalID?.dropFirst("statussync:".count) ?? ""))
        return (id, record, run.id)
    }

    @Test("With argoServer, completed failure, cancelled and neutral runs carry the Re-run action; success clears it; unfinished runs leave it; without argoServer no run has actions")
    func actionButton() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let argo = ArgoServerConfig(baseURL: "http://127.0.0.1:9", tokenFile: nil)
        try await FakeGitHub.run { fake in
            try await CheckRunTests.withDelivery(store, fake, argoServer: argo) { delivery, _ in
                for (state, context) in [("Failed", "ci/failed"), ("cancelled", "ci/cancelled"), ("Succeeded", "ci/success"), ("Running", "ci/running"), ("Error", "ci/error")] {
                    let id = try await CheckRunTests.accepted(store, CheckRunTests.call(state, extra: ["context": context]), delivery)
                    #expect(try await eventually { try await CheckRunTests.delivered(store, id) })
                }
                // A newer workflow takes ci/running: the older run is completed as neutral, with Re-run.
                let newer = try await CheckRunTests.accepted(store, CheckRunTests.call("pending", workflow: CheckRunTests.workflowB, extra: ["context": "ci/running"]), delivery)
                #expect(try await eventually { try await CheckRunTests.delivered(store, newer) })
            }
            #expect(fake.schemaViolations.isEmpty, "\(fake.schemaViolations)")
            func run(_ context: String, _ uid: String = "uid-a") -> FakeGitHub.CheckRun? {
                fake.checkRuns.first { $0.name == context && $0.summary?.contains(uid == "uid-a" ? "build-a" : "build-b") == true }
            }
            #expect(run("ci/failed")?.actions == [CheckRunDelivery.rerunIdentifier])
            #expect(run("ci/cancelled")?.actions == [CheckRunDelivery.rerunIdentifier])
            #expect(run("ci/error")?.actions == [CheckRunDelivery.rerunIdentifier])
            #expect(run("ci/success")?.actions == [])
            #expect(run("ci/success")?.bodies.last?["actions"] == .array([]))
            let superseded = try #require(fake.checkRuns.first { $0.name == "ci/running" && $0.conclusion == "neutral" })
            #expect(superseded.actions == [CheckRunDelivery.rerunIdentifier])
            let label = superseded.bodies.last?["actions"]
            #expect(label == .array([.object(["label": .string("Re-run"), "identifier": .string("statussync-rerun"), "description": .string("Resubmit this Argo workflow")])]))
            // Unfinished runs never carry actions.
            #expect(fake.checkRuns.filter { $0.status != "completed" }.allSatisfy { $0.bodies.allSatisfy { $0["actions"] == nil } })
        }

        let dir2 = try TempDirectory()
        let store2 = try SQLiteStore.temporary(in: dir2)
        try await FakeGitHub.run { fake in
            try await CheckRunTests.withDelivery(store2, fake) { delivery, _ in
                _ = try await Self.failedRun(store2, fake, delivery)
            }
            #expect(fake.checkRuns.allSatisfy { $0.bodies.allSatisfy { $0["actions"] == nil } })
        }
    }

    @Test("The store records a request once per X-GitHub-Delivery, on the workflow's newest update; runs of another provider or repository, wrong GitHub ids and unknown records are not statussync's")
    func recordOncePerDelivery() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            try await CheckRunTests.withDelivery(store, fake) { delivery, _ in
                let (update, record, run) = try await Self.failedRun(store, fake, delivery)
                func request(_ deliveryID: String, provider: String = "github", record: Int64 = record, run: Int64? = run, repo: String = "My-Org/App") -> RerunRequest {
                    RerunRequest(deliveryID: deliveryID, provider: provider, recordID: record, checkRunID: run, repo: repo, action: "requested_action", sender: "octocat")
                }
                guard case .recorded(let id, let workflow) = try await store.recordRerun(request("d-1"), failure: nil) else { Issue.record("not recorded"); return }
                #expect(workflow.namespace == "ci" && workflow.name == "build-a")
                #expect(try await store.recordRerun(request("d-1"), failure: nil) == .repeated(id: id))
                #expect(try await store.recordRerun(request("d-2", provider: "other"), failure: nil) == .unknownRun)
                #expect(try await store.recordRerun(request("d-3", repo: "my-org/other"), failure: nil) == .unknownRun)
                #expect(try await store.recordRerun(request("d-4", run: run + 1), failure: nil) == .unknownRun)
                #expect(try await store.recordRerun(request("d-5", record: record + 100), failure: nil) == .unknownRun)
                let reruns = try #require(try await store.detail(id: update)).reruns
                #expect(reruns.count == 1)
                #expect(reruns.first?.deliveryId == "d-1" && reruns.first?.sender == "octocat" && reruns.first?.workflow == "ci/build-a")
            }
        }
    }

    @Test("The resubmit is retried and recorded like a provider call: a 503 then the new workflow; a rejected token or a deleted workflow fail at once, with the reason; show --json lists each try")
    func resubmit() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let tokenFile = dir.path("argo-token")
        try "Bearer \(Self.argoToken)\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await FakeArgoServer.run(token: Self.argoToken) { argo in
            argo.addWorkflow(namespace: "ci", name: "build-a")
            try await FakeGitHub.run { fake in
                try await CheckRunTests.withDelivery(store, fake, argoServer: ArgoServerConfig(baseURL: argo.baseURL + "/", tokenFile: tokenFile)) { delivery, _ in
                    let (update, record, run) = try await Self.failedRun(store, fake, delivery)
                    argo.traffic.enqueue(.status(503, body: "{\"code\":14,\"message\":\"unavailable\",\"details\":[]}"))
                    func ask(_ id: String) async throws {
                        _ = try await store.recordRerun(RerunRequest(deliveryID: id, provider: "github", recordID: record, checkRunID: run, repo: "my-org/app",
                                                                     action: "rerequested", sender: "octocat"), failure: nil)
                        delivery.rerunRecorded()
                    }
                    try await ask("d-1")
                    #expect(try await eventually { try await store.detail(id: update)?.reruns.first?.status == "delivered" })
                    var rerun = try #require(try await store.detail(id: update)?.reruns.first)
                    #expect(rerun.newWorkflow == "build-a-00001")
                    // The 503 may have come after the server acted: the retry looks before it resubmits.
                    #expect(rerun.tries.map(\.operation) == ["resubmit", "resubmit-list", "resubmit"])
                    #expect(rerun.tries.map(\.errorClass) == ["transient", "ok", "ok"])
                    #expect(rerun.tries.map(\.httpStatus) == [503, 200, 200])
                    #expect(argo.resubmits == [.init(namespace: "ci", name: "build-a", memoized: false, newName: "build-a-00001")])
                    #expect(argo.violations.isEmpty, "\(argo.violations)")
                    let put = try #require(argo.traffic.requests.last)
                    #expect(put.method == "PUT" && put.path == "/api/v1/workflows/ci/build-a/resubmit")
                    #expect(put.headers["authorization"] == "Bearer \(Self.argoToken)")
                    #expect(try JSONValue.parse(Data(put.body.utf8)) == .object(["namespace": .string("ci"), "name": .string("build-a"), "memoized": .bool(false)]))

                    // A token the server rejects: failed at once, naming the setting to fix.
                    try "wrong".write(toFile: tokenFile, atomically: true, encoding: .utf8)
                    try await ask("d-2")
                    #expect(try await eventually { try await store.detail(id: update)?.reruns.last?.status == "failed" })
                    rerun = try #require(try await store.detail(id: update)?.reruns.last)
                    #expect(rerun.lastError?.contains("argoServer.tokenFile") == true, "\(rerun.lastError ?? "")")
                    #expect(rerun.tries.count == 1 && rerun.tries.first?.httpStatus == 401)
                    #expect(!(rerun.lastError ?? "").contains("wrong"))

                    // The workflow is gone: 404, failed, saying so.
                    try Self.argoToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
                    let (update2, record2, run2) = try await Self.failedRun(store, fake, delivery, context: "ci/other", workflow: CheckRunTests.workflowB)
                    _ = try await store.recordRerun(RerunRequest(deliveryID: "d-3", provider: "github", recordID: record2, checkRunID: run2, repo: "my-org/app",
                                                                 action: "requested_action", sender: nil), failure: nil)
                    delivery.rerunRecorded()
                    #expect(try await eventually { try await store.detail(id: update2)?.reruns.first?.status == "failed" })
                    let gone = try #require(try await store.detail(id: update2)?.reruns.first)
                    #expect(gone.lastError?.contains("workflow ci/build-b not found on the Argo Server") == true, "\(gone.lastError ?? "")")
                    #expect(argo.resubmits.count == 1)

                    // show --json of the update: report check, its run id, and the re-runs with their tries.
                    let json = try JSONValue.parse(try JSONEncoder().encode(try #require(try await store.detail(id: update))))
                    guard case .array(let listed)? = json["reruns"] else { Issue.record("no reruns in \(json)"); return }
                    #expect(listed.count == 2)
                    #expect(listed.first?["newWorkflow"] == .string("build-a-00001"))
                    guard case .array(let tries)? = listed.first?["tries"] else { Issue.record("no tries"); return }
                    #expect(tries.count == 3 && tries.first?["operation"] == .string("resubmit") && tries[1]["operation"] == .string("resubmit-list"))
                }
            }
        }
    }

    @Test("A re-run left resubmitting by a stop is queued again at start: it looks for the workflow first, adopts it when the stopped try made it, resubmits when not; each workflow once")
    func recoverInterrupted() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeArgoServer.run(token: Self.argoToken) { argo in
            argo.addWorkflow(namespace: "ci", name: "build-a")
            argo.addWorkflow(namespace: "ci", name: "build-b")
            let tokenFile = dir.path("argo-token")
            try Self.argoToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let config = ArgoServerConfig(baseURL: argo.baseURL, tokenFile: tokenFile)
            try await FakeGitHub.run { fake in
                var updates: [Int64] = []
                try await CheckRunTests.withDelivery(store, fake) { delivery, _ in
                    for (n, (context, workflow)) in [("ci/a", CheckRunTests.workflowA), ("ci/b", CheckRunTests.workflowB)].enumerated() {
                        let (u, record, run) = try await Self.failedRun(store, fake, delivery, context: context, workflow: workflow)
                        updates.append(u)
                        _ = try await store.recordRerun(RerunRequest(deliveryID: "d-\(n)", provider: "github", recordID: record, checkRunID: run, repo: "my-org/app",
                                                                     action: "rerequested", sender: nil), failure: nil)
                    }
                }
                // As if the process died after claiming both (no argoServer above: nothing resubmitted
                // them), build-a's PUT having reached the Argo Server, build-b's not.
                let claimed = try await store.claimDueReruns(limit: 5)
                #expect(claimed.jobs.count == 2)
                let http = ProviderHTTPClient(timeout: .seconds(20))
                let (reached, _) = await ArgoServerClient(config, http: http).resubmit(namespace: "ci", name: "build-a")
                try await http.shutdown()
                #expect(reached.errorClass == .ok)
                let ids = updates
                try await CheckRunTests.withDelivery(store, fake, argoServer: config) { _, _ in
                    let done = try await eventually {
                        for id in ids where try await store.detail(id: id)?.reruns.first?.status != "delivered" { return false }
                        return true
                    }
                    #expect(done)
                }
                let a = try #require(try await store.detail(id: updates[0])?.reruns.first)
                #expect(a.tries.map(\.operation) == ["resubmit", "resubmit-list"], "adopted, not resubmitted again")
                #expect(a.tries.map(\.errorClass) == ["interrupted", "ok"])
                #expect(a.newWorkflow == "build-a-00001")
                let b = try #require(try await store.detail(id: updates[1])?.reruns.first)
                #expect(b.tries.map(\.operation) == ["resubmit", "resubmit-list", "resubmit"])
                #expect(b.tries.map(\.errorClass) == ["interrupted", "ok", "ok"])
                #expect(b.newWorkflow == "build-b-00002")
                #expect(argo.resubmits.map(\.name).sorted() == ["build-a", "build-b"], "each workflow resubmitted once")
                #expect(argo.violations.isEmpty, "\(argo.violations)")
            }
        }
    }

    @Test("A resubmit whose answer was lost (a gateway's 504 after the server acted) is found by its resubmitted-from label and adopted, never made twice; another re-run's workflow and older resubmits are not adopted; a list the account may not make fails naming the permission")
    func lostAnswer() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let tokenFile = dir.path("argo-token")
        try Self.argoToken.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await FakeArgoServer.run(token: Self.argoToken) { argo in
            argo.addWorkflow(namespace: "ci", name: "build-a")
            // Somebody resubmitted build-a by hand ten minutes ago: not this re-run's workflow.
            argo.addResubmitted(namespace: "ci", name: "build-a-byhand", from: "build-a", created: Date().addingTimeInterval(-600))
            try await FakeGitHub.run { fake in
                try await CheckRunTests.withDelivery(store, fake, argoServer: ArgoServerConfig(baseURL: argo.baseURL, tokenFile: tokenFile)) { delivery, _ in
                    let (update, record, run) = try await Self.failedRun(store, fake, delivery)
                    func ask(_ id: String) async throws -> RerunView? {
                        _ = try await store.recordRerun(RerunRequest(deliveryID: id, provider: "github", recordID: record, checkRunID: run, repo: "my-org/app",
                                                                     action: "requested_action", sender: "octocat"), failure: nil)
                        delivery.rerunRecorded()
                        let finished = try await eventually {
                            let status = try await store.detail(id: update)?.reruns.first { $0.deliveryId == id }?.status
                            return status == "delivered" || status == "failed" || status == "dead"
                        }
                        #expect(finished, "re-run \(id) finished")
                        return try await store.detail(id: update)?.reruns.first { $0.deliveryId == id }
                    }

                    argo.loseAnswers(1)
                    let first = try #require(try await ask("d-1"))
                    #expect(first.status == "delivered")
                    #expect(first.newWorkflow == "build-a-00001", "the workflow the lost try made")
                    #expect(first.tries.map(\.operation) == ["resubmit", "resubmit-list"])
                    #expect(first.tries.map(\.httpStatus) == [504, 200])
                    #expect(argo.resubmits.count == 1, "resubmitted once")

                    // A second Re-run of the same workflow, its answer lost too: it adopts its own
                    // workflow, not the one the first re-run made.
                    argo.loseAnswers(1)
                    let second = try #require(try await ask("d-2"))
                    #expect(second.status == "delivered" && second.newWorkflow == "build-a-00002")
                    #expect(argo.resubmits.count == 2)

                    // A re-run whose answers are not lost never lists.
                    let lists = argo.lists
                    let third = try #require(try await ask("d-3"))
                    #expect(third.tries.map(\.operation) == ["resubmit"] && third.newWorkflow == "build-a-00003")
                    #expect(argo.lists == lists)

                    // The account may resubmit but not list: failed, naming the permission to grant.
                    argo.denyList(true)
                    argo.loseAnswers(1)
                    let denied = try #require(try await ask("d-4"))
                    #expect(denied.status == "failed")
                    #expect(denied.lastError?.contains("grant it list on workflows there") == true, "\(denied.lastError ?? "")")
                    #expect(denied.tries.map(\.httpStatus) == [504, 403])
                    #expect(argo.resubmits.count == 4, "never resubmitted without looking first")
                    #expect(argo.violations.isEmpty, "\(argo.violations)")
                    let listed = try #require(argo.traffic.requests.last { $0.method == "GET" })
                    #expect(listed.path == "/api/v1/workflows/ci")
                    #expect(listed.query == "listOptions.labelSelector=workflows.argoproj.io%2Fresubmitted-from-workflow%3Dbuild-a&fields=items.metadata.name,items.metadata.creationTimestamp")
                    #expect(listed.headers["authorization"] == "Bearer \(Self.argoToken)")
                }
            }
        }
    }
}
