import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders
@testable import StatusSyncStore

/// The real binary with check runs: the webhook and the resubmit, calls per workflow, and a
/// SIGKILL between a create reaching GitHub and its record (docs/design.md#check-runs, #re-run).
@Suite("Check runs end to end: the binary, a fake GitHub App and a fake Argo Server")
struct CheckRunEndToEndTests {
    static let webhookSecret = "whsec-9f2c1e7a-statussync"
    static let agentToken = "k7v2xq9dz5m4tbn8hw6rc2lfs7pgj4x9"

    /// Writes a config for `serve` with a GitHub App provider reporting check runs to `fake`.
    static func writeConfig(_ dir: TempDirectory, port: Int, fake: FakeGitHub, app: GitHubAppTests.App, argo: FakeArgoServer? = nil) throws -> String {
        try webhookSecret.write(toFile: dir.path("webhook-secret"), atomically: true, encoding: .utf8)
        try agentToken.write(toFile: dir.path("agent-token"), atomically: true, encoding: .utf8)
        var yaml = """
            listen: 127.0.0.1:\(port)
            database: \(dir.path("statussync.sqlite"))
            argoBaseURL: https://argo.example.com
            agentTokenFile: \(dir.path("agent-token"))
            providers:
              - name: github
                kind: github
                baseURL: \(fake.baseURL)
                checks: true
                webhookSecretFile: \(dir.path("webhook-secret"))
                app: {appID: "12345", installationID: "678", privateKeyFile: \(app.dir.path("app.pem"))}
            delivery: {maxAttempts: 50, maxAge: 1h, backoffBase: 50ms, backoffCap: 300ms, timeout: 10s}

            """
        if let argo {
            try argo.token.write(toFile: dir.path("argo-token"), atomically: true, encoding: .utf8)
            yaml += "argoServer: {baseURL: \(argo.baseURL), tokenFile: \(dir.path("argo-token"))}\n"
        }
        let path = dir.path("statussync.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A fake GitHub that knows a GitHub App (its key in `app.dir`), and a directory for the run.
    static func withGitHubApp(_ body: @Sendable (FakeGitHub, GitHubAppTests.App, TempDirectory) async throws -> Void) async throws {
        let app = try GitHubAppTests.app()
        let dir = try TempDirectory()
        try await FakeGitHub.run { fake in
            fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey)
            try await body(fake, app, dir)
        }
    }

    /// `serve` on a free port with the config of `writeConfig`.
    static func startServe(_ dir: TempDirectory, fake: FakeGitHub, app: GitHubAppTests.App, argo: FakeArgoServer? = nil) async throws -> ServeProcess {
        let port = try ServeProcess.freePort()
        return try await ServeProcess.start(config: try writeConfig(dir, port: port, fake: fake, app: app, argo: argo), port: port, dir: dir)
    }

    static func call(_ serve: ServeProcess, _ state: String, workflow: WorkflowRef = CallFactory.workflow, extra: [String: String] = [:]) async throws -> Int64 {
        let (code, reply) = try await HTTP.post("\(serve.baseURL)/api/v1/template.execute",
                                                CallFactory.argsJSON(CallFactory.status(state, extra: extra), workflow: workflow, template: "report-\(state)"),
                                                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(agentToken)")])
        #expect(code == 200, "\(reply)")
        return try #require(EndToEndTests.updateID(reply), "\(reply)")
    }

    static func webhook(_ serve: ServeProcess, event: String, delivery: String, body: Data, secret: String? = webhookSecret) async throws -> (Int, String) {
        try await HTTP.post("\(serve.baseURL)/api/v1/github/webhook", body, headers: WebhookPayloads.headers(event: event, delivery: delivery, body: body, secret: secret))
    }

    static func detail(_ dir: TempDirectory, _ id: Int64) async throws -> JSONValue {
        let show = try await ServeProcess.cli(["show", "\(id)", "--json", "--database", dir.path("statussync.sqlite")], in: dir)
        #expect(show.status == 0, "\(show.err)")
        return try JSONValue.parse(Data(show.out.utf8))
    }

    @Test("pending → running → success is one create and two PATCHes (3 calls); sent in a burst, superseded updates make fewer; every page GitHub takes")
    func callsPerWorkflow() async throws {
        try await Self.withGitHubApp { fake, app, dir in
            let serve = try await Self.startServe(dir, fake: fake, app: app)
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            // Every check-run call: create, update, list.
            func checkCalls() -> Int { fake.requests.filter { $0.path.contains("/check-runs") }.count }
            // One state at a time, each delivered before the next.
            let shaA = String(repeating: "a", count: 40)
            for state in ["pending", "running", "success"] {
                let id = try await Self.call(serve, state, extra: ["sha": shaA])
                #expect(try await eventually { try await Self.detail(dir, id)["delivery"]?["status"] == .string("delivered") })
            }
            #expect(checkCalls() == 3)
            #expect(fake.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/check-runs") }.count == 1)
            let run = try #require(fake.checkRuns.first { $0.sha == shaA })
            #expect(run.status == "completed" && run.conclusion == "success" && run.startedAt != nil && run.completedAt != nil)

            // A burst from another workflow on another commit: at most 3 calls, the run ends right.
            let shaB = String(repeating: "b", count: 40)
            let other = WorkflowRef(namespace: "ci", name: "build-2", uid: "uid-2")
            func writes() -> Int { fake.requests.filter { $0.path.contains("/check-runs") && $0.method != "GET" }.count }
            let writesBefore = writes()
            var last: Int64 = 0
            for state in ["pending", "running", "success"] { last = try await Self.call(serve, state, workflow: other, extra: ["sha": shaB]) }
            #expect(try await eventually { try await Self.detail(dir, last)["delivery"]?["status"] == .string("delivered") })
            let before = fake.requests.count
            try await Task.sleep(for: .milliseconds(300))
            #expect(fake.requests.count == before, "calls after the final update was delivered")
            let posted = writes() - writesBefore
            #expect(posted >= 1 && posted <= 3, "\(posted)")
            #expect(fake.checkRuns.filter { $0.sha == shaB }.count == 1)
            #expect(fake.checkRuns.first { $0.sha == shaB }?.conclusion == "success")
            #expect(fake.schemaViolations.isEmpty && fake.statuses.isEmpty)
        }
    }

    @Test("SIGKILL after a create reached GitHub and before its answer was recorded: after restart the run is found by external_id and adopted; exactly one run, completed")
    func killBetweenCreateAndRecord() async throws {
        try await Self.withGitHubApp { fake, app, dir in
            // The run is made at once; its answer comes late, after the kill.
            fake.enqueueCheckCreate(.slow(.seconds(4)))
            let port = try ServeProcess.freePort()
            let config = try Self.writeConfig(dir, port: port, fake: fake, app: app)
            let first = try await ServeProcess.start(config: config, port: port, dir: dir, tag: "before-kill")
            let running = try await Self.call(first, "Running")
            #expect(try await eventually { fake.checkRuns.count == 1 }, "\(first.log)")
            await first.kill(SIGKILL)
            #expect(try await Self.detail(dir, running)["delivery"]?["status"] == .string("delivering"))

            let second = try await ServeProcess.start(config: config, port: port, dir: dir, tag: "after-kill")
            defer { kill(second.process.processIdentifier, SIGTERM) }
            #expect(try await eventually { try await Self.detail(dir, running)["delivery"]?["status"] == .string("delivered") }, "\(second.log)")
            let done = try await Self.call(second, "Succeeded")
            #expect(try await eventually { try await Self.detail(dir, done)["delivery"]?["status"] == .string("delivered") }, "\(second.log)")

            #expect(fake.checkRuns.count == 1, "\(fake.checkRuns.map(\.id))")
            let run = try #require(fake.checkRuns.first)
            #expect(run.conclusion == "success" && run.startedAt != nil)
            #expect(fake.requests.filter { $0.method == "POST" && $0.path.hasSuffix("/check-runs") }.count == 1)
            let detail = try await Self.detail(dir, running)
            #expect(detail["checkRunId"] == .number(Double(run.id)))
            guard case .array(let attempts)? = detail["attempts"] else { Issue.record("no attempts"); return }
            let operations = attempts.compactMap { $0["operation"]?.stringValue }
            // Recovery, then the list that finds the run (repeated only if a list failed), then its
            // update: never a second create.
            #expect(operations.first == "recovery" && operations.last == "check-update", "\(operations)")
            #expect(Set(operations.dropFirst().dropLast()) == ["check-list"], "\(attempts)")
            #expect(attempts.dropFirst().dropLast().last?["errorClass"] == .string("ok"), "the last list found the run")
            #expect(attempts.first?["errorClass"] == .string("interrupted"))
        }
    }

    @Test("serve takes GitHub's webhook without the agent token: a wrong or missing signature is 401 with nothing recorded; ping and other events 200; Re-run is 202 and resubmitted once, a redelivery adds nothing; show and /metrics say so")
    func webhookAndResubmit() async throws {
        try await FakeArgoServer.run { argo in
            argo.addWorkflow(namespace: CallFactory.workflow.namespace, name: CallFactory.workflow.name)
            try await Self.withGitHubApp { fake, app, dir in
                let serve = try await Self.startServe(dir, fake: fake, app: app, argo: argo)
                defer { kill(serve.process.processIdentifier, SIGTERM) }
                let failed = try await Self.call(serve, "Failed")
                #expect(try await eventually { try await Self.detail(dir, failed)["delivery"]?["status"] == .string("delivered") }, "\(serve.log)")
                let run = try #require(fake.checkRuns.first)
                #expect(run.actions == [CheckRunDelivery.rerunIdentifier])
                let external = try #require(run.externalID)
                let rerun = try WebhookPayloads.checkRun("requested_action", externalID: external, checkRunID: run.id)

                // Refused: no signature, a wrong one, another secret. Nothing recorded, nothing resubmitted.
                #expect(try await Self.webhook(serve, event: "check_run", delivery: "d-0", body: rerun, secret: nil).0 == 401)
                #expect(try await Self.webhook(serve, event: "check_run", delivery: "d-0", body: rerun, secret: "another secret").0 == 401)
                var tampered = rerun
                tampered.append(contentsOf: Array(" ".utf8))
                var headers = WebhookPayloads.headers(event: "check_run", delivery: "d-0", body: rerun, secret: Self.webhookSecret)
                #expect(try await HTTP.post("\(serve.baseURL)/api/v1/github/webhook", tampered, headers: headers).0 == 401)
                // Ignored: ping, another event, another App's action, a run statussync did not make.
                #expect(try await Self.webhook(serve, event: "ping", delivery: "d-ping", body: try WebhookPayloads.ping()).0 == 200)
                #expect(try await Self.webhook(serve, event: "check_suite", delivery: "d-suite", body: rerun).0 == 200)
                let lgtm = try WebhookPayloads.checkRun("requested_action", externalID: external, checkRunID: run.id, identifier: "lgtm")
                #expect(try await Self.webhook(serve, event: "check_run", delivery: "d-lgtm", body: lgtm).0 == 200)
                let foreign = try WebhookPayloads.checkRun("rerequested", externalID: "statussync:999", checkRunID: 1)
                #expect(try await Self.webhook(serve, event: "check_run", delivery: "d-foreign", body: foreign).0 == 200)
                try await Task.sleep(for: .milliseconds(200))
                guard case .array(let none)? = try await Self.detail(dir, failed)["reruns"] else { Issue.record("no reruns list"); return }
                #expect(none.isEmpty)
                #expect(argo.traffic.requests.isEmpty)

                // The Re-run button: 202 at once, then one resubmit.
                let (code, answer) = try await Self.webhook(serve, event: "check_run", delivery: "d-1", body: rerun)
                #expect(code == 202, "\(answer)")
                #expect(try await eventually { argo.resubmits.count == 1 }, "\(serve.log)")
                #expect(try await eventually {
                    guard case .array(let list)? = try await Self.detail(dir, failed)["reruns"] else { return false }
                    return list.first?["status"] == .string("delivered")
                })
                // Redelivered by GitHub (same X-GitHub-Delivery): 202 again, nothing new.
                headers = WebhookPayloads.headers(event: "check_run", delivery: "d-1", body: rerun, secret: Self.webhookSecret)
                #expect(try await HTTP.post("\(serve.baseURL)/api/v1/github/webhook", rerun, headers: headers).0 == 202)
                try await Task.sleep(for: .milliseconds(300))
                #expect(argo.resubmits.count == 1)
                #expect(argo.violations.isEmpty, "\(argo.violations)")
                let detail = try await Self.detail(dir, failed)
                guard case .array(let reruns)? = detail["reruns"] else { Issue.record("no reruns"); return }
                #expect(reruns.count == 1)
                #expect(reruns.first?["deliveryId"] == .string("d-1") && reruns.first?["action"] == .string("requested_action"))
                #expect(reruns.first?["newWorkflow"] == .string("\(CallFactory.workflow.name)-00001"))
                #expect(argo.traffic.requests.first?.headers["authorization"] == "Bearer \(argo.token)")

                let text = try await ServeProcess.cli(["show", "\(failed)", "--database", dir.path("statussync.sqlite")], in: dir)
                #expect(text.out.contains("re-runs (1):"), "\(text.out)")
                #expect(text.out.contains("requested_action by codebytere  resubmit \(CallFactory.workflow.namespace)/\(CallFactory.workflow.name): delivered, resubmitted as \(CallFactory.workflow.name)-00001"), "\(text.out)")

                let check = try await ServeProcess.cli(["check", "--config", dir.path("statussync.yaml")], in: dir)
                #expect(check.out.contains("ok    provider github webhookSecretFile \(dir.path("webhook-secret")): readable"), "\(check.out)\n\(check.err)")
                #expect(check.out.contains("ok    argoServer \(argo.baseURL): tokenFile \(dir.path("argo-token")) readable"), "\(check.out)")
                #expect(check.out.contains("ok    argoServer \(argo.baseURL): reachable, token accepted, authenticated as argo/statussync-resubmit"), "\(check.out)")
                #expect(check.status == 0, "\(check.out)\n\(check.err)")

                let metrics = try await HTTP.getText("\(serve.baseURL)/metrics")
                #expect(metrics.contains("statussync_github_webhooks_total{result=\"unauthorized\"} 3"), "\(metrics)")
                #expect(metrics.contains("statussync_github_webhooks_total{result=\"recorded\"} 1"))
                #expect(metrics.contains("statussync_github_webhooks_total{result=\"repeated\"} 1"))
                #expect(metrics.contains("statussync_reruns_total{status=\"delivered\"} 1"))
                #expect(metrics.contains("statussync_check_run_calls_total{provider=\"github\",operation=\"check-create\",class=\"ok\"} 1"))

                // A token the Argo Server does not take: check fails, naming the setting.
                try "not-the-token".write(toFile: dir.path("argo-token"), atomically: true, encoding: .utf8)
                let rejected = try await ServeProcess.cli(["check", "--config", dir.path("statussync.yaml")], in: dir)
                #expect(rejected.status == 1)
                #expect(rejected.out.contains("FAIL  argoServer \(argo.baseURL): HTTP 401: the Argo Server rejected the token") && rejected.out.contains("check argoServer.tokenFile"), "\(rejected.out)")
                #expect(!rejected.out.contains("not-the-token"))
                #expect(argo.violations.isEmpty, "\(argo.violations)")
            }
        }
    }

    @Test("A webhook secret is not auth for the plugin endpoint: outside loopback, serve still wants agentTokenFile or tenants")
    func webhookSecretIsNotAgentAuth() async throws {
        try await Self.withGitHubApp { fake, app, dir in
            try Self.webhookSecret.write(toFile: dir.path("webhook-secret"), atomically: true, encoding: .utf8)
            let yaml = """
                listen: 0.0.0.0:\(try ServeProcess.freePort())
                database: \(dir.path("statussync.sqlite"))
                providers:
                  - kind: github
                    baseURL: \(fake.baseURL)
                    checks: true
                    webhookSecretFile: \(dir.path("webhook-secret"))
                    app: {appID: "12345", installationID: "678", privateKeyFile: \(app.dir.path("app.pem"))}
                """
            try yaml.write(toFile: dir.path("open.yaml"), atomically: true, encoding: .utf8)
            let serve = try await ServeProcess.cli(["serve", "--config", dir.path("open.yaml")], in: dir)
            #expect(serve.status == 1)
            #expect(serve.err.contains("refusing to listen on 0.0.0.0"), "\(serve.err)")
            #expect(serve.err.contains("agentTokenFile"))
        }
    }
}
