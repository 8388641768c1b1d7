import Foundation
import Logging
import ServiceLifecycle
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncStore

@Suite("GitHub check runs (docs/design.md#check-runs)")
struct CheckRunTests {
    static let rules = PluginBodyRules(providers: [.init(name: "github", traits: GitHubProvider.traits, hasApp: true, checks: true)],
                                       argoBaseURL: "https://argo.example.com")
    static let workflowA = WorkflowRef(namespace: "ci", name: "build-a", uid: "uid-a")
    static let workflowB = WorkflowRef(namespace: "ci", name: "build-b", uid: "uid-b")

    static func call(_ state: String, workflow: WorkflowRef = workflowA, template: String? = nil, extra: [String: String] = [:]) -> IncomingCall {
        CallFactory.call(CallFactory.status(state, extra: extra), workflow: workflow, template: template ?? "report-\(state)", rules: rules)
    }

    /// A delivery loop sending as a GitHub App to `fake` while `body` runs.
    static func withDelivery(_ store: SQLiteStore, _ fake: FakeGitHub, timeout: ConfigDuration = .seconds(20), argoServer: ArgoServerConfig? = nil,
                             _ body: (DeliveryService, GitHubProvider) async throws -> Void) async throws {
        let app = try GitHubAppTests.app()
        fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey)
        var settings = DeliveryTests.settings()
        settings.timeout = timeout
        let http = ProviderHTTPClient(timeout: settings.timeout.duration)
        let provider = try GitHubProvider(name: "github", baseURL: fake.baseURL, app: app.credentials, pacing: nil, http: http)
        var logger = Logger(label: "check-run-test")
        logger.logLevel = .critical
        let service = DeliveryService(store: store, providers: [provider], settings: settings, shutdownGrace: .seconds(5), logger: logger, idlePoll: .milliseconds(200),
                                      resubmitter: argoServer.map { ArgoServerClient($0, http: http) }, reruns: store)
        try await ServiceGroup.running([service], logger: logger) { try await body(service, provider) }
        try await http.shutdown()
        _ = app.dir
    }

    static func delivered(_ store: SQLiteStore, _ id: Int64?) async throws -> Bool {
        try await DeliveryTests.status(store, id) == .delivered
    }

    static func accepted(_ store: SQLiteStore, _ call: IncomingCall, _ delivery: DeliveryService) async throws -> Int64 {
        let r = try await store.accept(call)
        delivery.wake()
        return try #require(r.updateID)
    }

    // MARK: configuration and body

    @Test("checks: true needs a github provider with app:; the error says why and how to fix it")
    func configErrors() throws {
        func parse(_ provider: String) -> String? {
            do { _ = try AppConfig.parse(yaml: "providers:\n\(provider)", source: "c.yaml", catalog: ProviderRegistry.catalog); return nil } catch { return error.message }
        }
        let token = parse("  - {kind: github, tokenFile: /t, checks: true}")
        #expect(token?.contains("checks") == true)
        #expect(token?.contains("only GitHub Apps create check runs") == true)
        #expect(token?.contains("app:") == true)
        let gitlab = parse("  - {kind: gitlab, tokenFile: /t, checks: true}")
        #expect(gitlab?.contains("only for kind github") == true)
        #expect(parse("  - {kind: github, checks: maybe, app: {appID: '1', installationID: '2', privateKeyFile: /k}}")?.contains("true or false") == true)
        let ok = try AppConfig.parse(yaml: "providers:\n  - {kind: github, checks: true, app: {appID: '1', installationID: '2', privateKeyFile: /k}}",
                                     source: "c.yaml", catalog: ProviderRegistry.catalog)
        #expect(ok.providers[0].checks && ok.providers[0].hasApp)
        let rules = ok.pluginBodyRules(catalog: ProviderRegistry.catalog)
        #expect(rules.providers[0].checks && rules.providers[0].hasApp)
    }

    @Test("report: check on a provider without app: is a Failed node naming the field and the fix; report overrides the provider's default")
    func bodyErrors() async throws {
        let tokenOnly = PluginBodyRules(providers: [.init(name: "github", traits: GitHubProvider.traits)], argoBaseURL: nil)
        let w = CallFactory.workflow
        func parse(_ extra: [String: String], _ rules: PluginBodyRules) throws(PluginBodyError) -> StatusRequest {
            try StatusRequest.parse(body: .object(CallFactory.status("Running", extra: extra).mapValues(JSONValue.string)), workflow: w, rules: rules)
        }
        #expect(throws: PluginBodyError.self) { try parse(["report": "check"], tokenOnly) }
        do { _ = try parse(["report": "check"], tokenOnly) } catch {
            #expect(error.message.contains("report: check needs a GitHub App"))
            #expect(error.message.contains("app: {appID, installationID, privateKeyFile}"))
            #expect(error.message.contains("report to \"status\""))
        }
        do { _ = try parse(["report": "checks"], Self.rules) } catch {
            #expect(error.message.contains("unknown report"))
        }
        #expect(try parse([:], tokenOnly).report == .status)
        #expect(try parse([:], Self.rules).report == .check, "checks: true is the provider's default")
        #expect(try parse(["report": "status"], Self.rules).report == .status)
        #expect(try parse(["report": "Check"], Self.rules).report == .check)

        // Through the store: the call is recorded with its error and answered Failed.
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let r = try await store.accept(CallFactory.call(CallFactory.status("Running", extra: ["report": "check"]), rules: tokenOnly))
        #expect(r.outcome == .rejected)
        #expect(r.reply.jsonText.contains("\"Failed\"") && r.reply.jsonText.contains("report: check"))
    }

    @Test("The fake refuses what GitHub refuses: bodies outside the official schema and oversize summaries (422), a caller that is not a GitHub App (403), an unknown run (404)")
    func fakeRefuses() async throws {
        let schemaOK: JSONValue = .object(["name": .string("ci/argo"), "head_sha": .string(CallFactory.sha)])
        #expect(CheckRunSchema.create.violation(schemaOK) == nil)
        #expect(CheckRunSchema.create.violation(.object(["name": .string("x")])) != nil, "head_sha is required")
        #expect(CheckRunSchema.create.violation(.object(["name": .string("x"), "head_sha": .string("y"), "colour": .string("red")])) != nil)
        #expect(CheckRunSchema.update.violation(.object(["status": .string("done")])) != nil)
        #expect(CheckRunSchema.update.violation(.object(["started_at": .string("2026-12-04 10:00")])) != nil)
        #expect(CheckRunSchema.update.violation(.object(["output": .object(["title": .string("t")])])) != nil, "output needs a summary")
        let app = try GitHubAppTests.app()
        try await FakeGitHub.run { fake in
            fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey)
            let http = ProviderHTTPClient(timeout: .seconds(20))
            let provider = try GitHubProvider(name: "github", baseURL: fake.baseURL, app: app.credentials, pacing: nil, http: http)
            let good = CheckRunDelivery(repo: "my-org/app", sha: CallFactory.sha, name: "ci/argo", externalID: "statussync:1", detailsURL: nil,
                                        status: "queued", conclusion: nil, startedAt: nil, completedAt: nil, title: "t", summary: "s")
            var noConclusion = good
            noConclusion.status = "completed"
            #expect(await provider.createCheckRun(noConclusion).0.httpStatus == 422)
            var big = good
            big.summary = String(repeating: "x", count: 65_536)
            let oversize = await provider.createCheckRun(big).0
            #expect(oversize.httpStatus == 422 && oversize.errorClass == .permanent)
            #expect(fake.schemaViolations.count == 2 && fake.checkRuns.isEmpty)
            let (created, id) = await provider.createCheckRun(good)
            #expect(created.errorClass == .ok && id != nil && fake.checkRuns.count == 1)
            #expect(await provider.updateCheckRun(id: 999_999, good).httpStatus == 404)
            let (found, adopted) = await provider.findCheckRun(repo: "my-org/app", sha: CallFactory.sha, name: "ci/argo", externalID: "statussync:1")
            #expect(found.errorClass == .ok && adopted == id)
            #expect(await provider.findCheckRun(repo: "my-org/app", sha: CallFactory.sha, name: "ci/argo", externalID: "statussync:2").1 == nil)

            // Adoption reads every page: the run is on the second page of 100 (newest first).
            for n in 2...120 {
                var other = good
                other.externalID = "statussync:\(n)"
                #expect(await provider.createCheckRun(other).0.errorClass == .ok)
            }
            func lists() -> Int { fake.requests.filter { $0.method == "GET" && $0.path.hasSuffix("/check-runs") }.count }
            let listsBefore = lists()
            let (paged, onPage2) = await provider.findCheckRun(repo: "my-org/app", sha: CallFactory.sha, name: "ci/argo", externalID: "statussync:1")
            #expect(paged.errorClass == .ok && onPage2 == id)
            #expect(lists() == listsBefore + 2, "two pages read")
            let pat = GitHubProvider(name: "github", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            let refused = await pat.createCheckRun(good).0
            #expect(refused.httpStatus == 403 && refused.errorClass == .permanent)
            #expect(refused.message?.contains("GitHub App") == true)
            try await http.shutdown()
        }
    }

    // MARK: lifecycle

    @Test("pending → running → success: one create (queued), then PATCH in_progress with started_at, then completed with conclusion and completed_at; show --json has report and checkRunId")
    func lifecycle() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            try await Self.withDelivery(store, fake) { delivery, _ in
                let pending = try await Self.accepted(store, Self.call("Pending"), delivery)
                #expect(try await eventually { try await Self.delivered(store, pending) })
                let running = try await Self.accepted(store, Self.call("Running"), delivery)
                #expect(try await eventually { try await Self.delivered(store, running) })
                let success = try await Self.accepted(store, Self.call("Succeeded"), delivery)
                #expect(try await eventually { try await Self.delivered(store, success) })

                let runs = fake.checkRuns
                #expect(runs.count == 1, "one run per workflow and context")
                let run = try #require(runs.first)
                #expect(fake.schemaViolations.isEmpty, "\(fake.schemaViolations)")
                #expect(run.name == "ci/argo" && run.sha == CallFactory.sha)
                #expect(run.status == "completed" && run.conclusion == "success")
                #expect(run.bodies.map { $0["status"]?.stringValue } == ["queued", "in_progress", "completed"])
                #expect(run.bodies[0]["external_id"]?.stringValue?.hasPrefix("statussync:") == true)
                #expect(run.bodies[0]["head_sha"]?.stringValue == CallFactory.sha)
                #expect(run.bodies[0]["started_at"] == nil)
                #expect(run.bodies[1]["started_at"]?.stringValue?.hasSuffix("Z") == true)
                #expect(run.bodies[1]["conclusion"] == nil)
                #expect(run.bodies[2]["conclusion"]?.stringValue == "success")
                #expect(run.bodies[2]["completed_at"]?.stringValue?.count == 20)
                #expect(run.bodies[1]["external_id"] == nil, "a PATCH does not repeat the identity")
                #expect(run.detailsURL == "https://argo.example.com/workflows/ci/build-a")
                #expect(run.title == "Workflow build-a succeeded")
                #expect(run.summary?.contains("[ci/build-a](https://argo.example.com/workflows/ci/build-a)") == true)
                #expect(run.summary?.contains("success") == true)
                #expect(run.summary?.contains("started \(run.startedAt ?? "?")") == true)
                #expect(run.summary?.contains("finished \(run.completedAt ?? "?")") == true && run.summary?.contains("took ") == true)
                #expect(run.bodies[0]["output"]?["summary"]?.stringValue?.contains("started") == false, "a queued run has no start yet")
                let calls = fake.requests.filter { $0.path.contains("check-runs") }.map(\.method)
                #expect(calls == ["POST", "PATCH", "PATCH"])
                #expect(fake.statuses.isEmpty, "no commit status for a check update")

                let detail = try #require(try await store.detail(id: success))
                #expect(detail.update.report == .check && detail.update.checkRunId == run.id)
                #expect(detail.attempts.map(\.operation) == ["check-update"])
                let json = String(decoding: try JSONEncoder().encode(detail.update), as: UTF8.self)
                #expect(json.contains("\"report\":\"check\"") && json.contains("\"checkRunId\":\(run.id)"))
                let first = try #require(try await store.detail(id: pending))
                #expect(first.attempts.map(\.operation) == ["check-create"])
                let history = try await store.history(HistoryFilter())
                #expect(history.allSatisfy { $0.report == .check && $0.checkRunId == run.id })
            }
        }
    }

    @Test("error → completed/failure; cancelled and skipped keep their conclusion")
    func stateMapping() throws {
        #expect(CheckRunDelivery.status(for: .pending) == ("queued", nil))
        #expect(CheckRunDelivery.status(for: .running) == ("in_progress", nil))
        #expect(CheckRunDelivery.status(for: .error) == ("completed", "failure"))
        #expect(CheckRunDelivery.status(for: .failure) == ("completed", "failure"))
        #expect(CheckRunDelivery.status(for: .cancelled) == ("completed", "cancelled"))
        #expect(CheckRunDelivery.status(for: .skipped) == ("completed", "skipped"))
        #expect(CheckRunDelivery.iso8601(Date(timeIntervalSince1970: 1_796_378_400)) == "2026-12-04T10:00:00Z")
        let job = DeliveryJob(id: 1, provider: "github", repo: "my-org/app", sha: CallFactory.sha, pr: nil, ref: nil, context: "ci/argo", state: .failure,
                              description: "d", targetURL: "https://argo.example.com/workflows/ci/w", comment: nil,
                              workflow: WorkflowRef(namespace: "ci", name: "w", uid: "u"), attempts: 1, createdAt: Date(), ageFrom: Date(), report: .check)
        let summary = DeliveryService.checkSummary(job, status: "completed", conclusion: "failure",
                                                   startedAt: Date(timeIntervalSince1970: 1_796_378_400), completedAt: Date(timeIntervalSince1970: 1_796_378_400 + 125))
        #expect(summary == "Workflow [ci/w](https://argo.example.com/workflows/ci/w): **failure** (failure)\n\nstarted 2026-12-04T10:00:00Z · finished 2026-12-04T10:02:05Z · took 2m 5s")
    }

    @Test("A report: status call on a checks provider still posts a commit status, with report status in the history")
    func statusOverride() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            try await Self.withDelivery(store, fake) { delivery, _ in
                let id = try await Self.accepted(store, Self.call("Succeeded", extra: ["report": "status"]), delivery)
                #expect(try await eventually { try await Self.delivered(store, id) })
                #expect(fake.statuses.map(\.state) == ["success"] && fake.checkRuns.isEmpty)
                let view = try #require(try await store.detail(id: id)).update
                #expect(view.report == .status && view.checkRunId == nil)
                let json = String(decoding: try JSONEncoder().encode(view), as: UTF8.self)
                #expect(json.contains("\"report\":\"status\"") && !json.contains("checkRunId"))
            }
        }
    }

    @Test("A newer workflow's first update completes the older workflow's unfinished run as neutral, Superseded by <ns>/<name>; the older one's later updates are not sent")
    func newerWorkflowSupersedes() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            try await Self.withDelivery(store, fake) { delivery, _ in
                let a = try await Self.accepted(store, Self.call("Running", workflow: Self.workflowA), delivery)
                #expect(try await eventually { try await Self.delivered(store, a) })
                let b = try await Self.accepted(store, Self.call("Pending", workflow: Self.workflowB), delivery)
                #expect(try await eventually { try await Self.delivered(store, b) })

                let runs = fake.checkRuns
                try #require(runs.count == 2)
                let older = runs[0]
                #expect(older.status == "completed" && older.conclusion == "neutral")
                #expect(older.title == "Superseded by ci/build-b")
                #expect(older.completedAt != nil)
                let newer = runs[1]
                #expect(newer.status == "queued" && newer.detailsURL?.hasSuffix("/build-b") == true)
                #expect(fake.schemaViolations.isEmpty, "\(fake.schemaViolations)")
                let attempts = try #require(try await store.detail(id: b)).attempts.map(\.operation)
                #expect(attempts == ["check-supersede", "check-create"])

                // A's later final update goes to a run that was already given up: not sent.
                let before = fake.requests.count
                let late = try await Self.accepted(store, Self.call("Succeeded", workflow: Self.workflowA), delivery)
                #expect(try await eventually { try await DeliveryTests.status(store, late) == .superseded })
                #expect(try await store.detail(id: late)?.update.delivery.linkedUpdateId == b, "linked to the update that took the context")
                #expect(fake.requests.count == before)
                #expect(fake.checkRuns.filter { $0.status != "completed" }.count == 1, "only B's run is open")
            }
        }
    }

    // MARK: exactly one run

    @Test("A create that timed out after reaching GitHub is adopted by listing the commit's runs: no second run")
    func lostCreateAnswerIsAdopted() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            // The run is made at once; the answer comes after the client gave up.
            fake.enqueueCheckCreate(.slow(.seconds(6)))
            try await Self.withDelivery(store, fake, timeout: .seconds(3)) { delivery, _ in
                let id = try await Self.accepted(store, Self.call("Running"), delivery)
                #expect(try await eventually { try await Self.delivered(store, id) })
                #expect(fake.checkRuns.count == 1, "the run the lost answer created is the only one")
                let run = try #require(fake.checkRuns.first)
                let detail = try #require(try await store.detail(id: id))
                #expect(detail.attempts.map(\.operation) == ["check-create", "check-list", "check-update"])
                #expect(detail.attempts.map(\.errorClass) == ["transient", "ok", "ok"])
                #expect(detail.update.checkRunId == run.id)
                #expect(fake.requests.contains { $0.method == "GET" && $0.path.hasSuffix("/commits/\(CallFactory.sha)/check-runs") })
            }
        }
    }

    @Test("Retries and rate limits hold for checks: a 502 and a 429 (Retry-After) on create are retried, each retry looks for a run first, and one run results")
    func retriesAndRateLimits() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            fake.enqueueCheckCreate(.serverError(502), .error(429, headers: [("Retry-After", "1")], body: "{\"message\":\"API rate limit exceeded\"}"))
            try await Self.withDelivery(store, fake) { delivery, _ in
                let id = try await Self.accepted(store, Self.call("Failed"), delivery)
                #expect(try await eventually { try await Self.delivered(store, id) })
                #expect(fake.checkRuns.count == 1 && fake.checkRuns.first?.conclusion == "failure")
                let attempts = try #require(try await store.detail(id: id)).attempts
                #expect(attempts.map(\.operation) == ["check-create", "check-list", "check-create", "check-list", "check-create"])
                #expect(attempts.map(\.errorClass) == ["transient", "ok", "rate-limited", "ok", "ok"])
                let update = try #require(try await store.detail(id: id)).update
                #expect(update.delivery.attempts == 2, "the rate-limited try does not count toward maxAttempts")
            }
        }
    }

    @Test("A crash while delivering (the create reached GitHub, its answer was never recorded): after recoverInterrupted the run is adopted")
    func crashThenAdopt() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        try await FakeGitHub.run { fake in
            let app = try GitHubAppTests.app()
            fake.registerApp(id: "12345", installation: "678", publicKey: app.key.publicKey)
            let http = ProviderHTTPClient(timeout: .seconds(20))
            let provider = try GitHubProvider(name: "github", baseURL: fake.baseURL, app: app.credentials, pacing: nil, http: http)
            // What the killed process did: claim, make the record, create the run; nothing recorded after.
            let r = try await store.accept(Self.call("Running"))
            let job = try #require(try await store.claimDue(limit: 5).jobs.first)
            #expect(job.report == .check)
            let plan = try await store.prepareCheckRun(job)
            #expect(plan.fresh && plan.checkRunID == nil)
            let (status, conclusion) = CheckRunDelivery.status(for: job.state)
            let (outcome, created) = await provider.createCheckRun(CheckRunDelivery(
                repo: job.repo, sha: CallFactory.sha, name: job.context, externalID: plan.externalID, detailsURL: nil,
                status: status, conclusion: conclusion, startedAt: Date(), completedAt: nil, title: "t", summary: "s"))
            #expect(outcome.errorClass == .ok && created != nil)
            try await http.shutdown()

            #expect(try await store.recoverInterrupted() == 1)
            let again = try await store.prepareCheckRun(job)
            #expect(!again.fresh && again.recordID == plan.recordID && again.checkRunID == nil)
            try await Self.withDelivery(store, fake) { delivery, _ in
                delivery.wake()
                #expect(try await eventually { try await Self.delivered(store, r.updateID) })
                #expect(fake.checkRuns.count == 1)
                let detail = try #require(try await store.detail(id: r.updateID!))
                #expect(detail.attempts.map(\.operation) == ["recovery", "check-list", "check-update"])
                #expect(detail.update.checkRunId == created)
            }
            _ = app.dir
        }
    }

    // MARK: dedup and supersede still hold

    @Test("Dedup and supersede hold for checks: an equal update is a duplicate; updates waiting behind a newer one are never sent; another workflow's equal update is not a duplicate")
    func dedupAndSupersede() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let pending = try await store.accept(Self.call("Pending", extra: ["description": "d"]))
        let same = try await store.accept(Self.call("Pending", template: "again", extra: ["description": "d"]))
        #expect(same.outcome == .accepted(.duplicate))
        let other = try await store.accept(Self.call("Pending", workflow: Self.workflowB, extra: ["description": "d"]))
        #expect(other.outcome == .accepted(.queued), "another workflow's run is its own")
        #expect(try await DeliveryTests.status(store, pending.updateID) == .superseded)
        let running = try await store.accept(Self.call("Running", workflow: Self.workflowB))
        #expect(running.outcome == .accepted(.queued))
        #expect(try await DeliveryTests.status(store, other.updateID) == .superseded)
        let again = try await store.accept(Self.call("Pending", workflow: Self.workflowB, template: "late", extra: ["description": "late"]))
        #expect(again.outcome == .accepted(.queued))
        #expect(try await DeliveryTests.status(store, running.updateID) == .superseded)
        let final = try await store.accept(Self.call("Succeeded", workflow: Self.workflowB))
        let late = try await store.accept(Self.call("Running", workflow: Self.workflowB, template: "later"))
        #expect(late.outcome == .accepted(.stale))

        try await FakeGitHub.run { fake in
            try await Self.withDelivery(store, fake) { delivery, _ in
                delivery.wake()
                #expect(try await eventually { try await Self.delivered(store, final.updateID) })
                #expect(fake.checkRuns.count == 1, "workflow A's updates were all superseded before any was sent: no run for it")
                let run = try #require(fake.checkRuns.first)
                #expect(run.bodies.count == 1 && run.conclusion == "success", "one create with the final state")
                #expect(run.startedAt != nil, "started_at is when B's first running update was accepted")
            }
        }
    }

    @Test("Pinning a pull request's head: another workflow's equal check update is not a duplicate (it needs its own run); the same workflow's is")
    func pinningKeepsRunsPerWorkflow() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let body = CallFactory.status("Succeeded", extra: ["description": "done"])
        _ = try await store.accept(CallFactory.call(body, workflow: Self.workflowA, rules: Self.rules))
        let first = try await store.claimDue(limit: 5).jobs
        try await store.finish(first[0], attempt: nil, decision: .delivered)
        let prBody = ["repo": "my-org/app", "pr": "5", "state": "Succeeded", "context": "ci/argo", "description": "done"]
        let other = try await store.accept(CallFactory.call(prBody, workflow: Self.workflowB, rules: Self.rules))
        let claimed = try #require(try await store.claimDue(limit: 5).jobs.first)
        #expect(claimed.id == other.updateID)
        guard case .send(let pinned) = try await store.pin(claimed, head: PullRequestHead(sha: CallFactory.sha, sourceBranch: nil), attempt: nil) else {
            Issue.record("another workflow's check update must be sent"); return
        }
        try await store.finish(pinned, attempt: nil, decision: .delivered)

        // The same workflow again (another template) on the PR: a duplicate of its own delivered update.
        let again = try await store.accept(CallFactory.call(prBody, workflow: Self.workflowB, template: "again", rules: Self.rules))
        #expect(again.outcome == .accepted(.duplicate))
    }

    // MARK: through the binary

    @Test("serve with checks: true on a GitHub App provider: the plugin calls become one check run; history and show --json say report check with its checkRunId")
    func throughServe() async throws {
        try await CheckRunEndToEndTests.withGitHubApp { fake, app, dir in
            let serve = try await CheckRunEndToEndTests.startServe(dir, fake: fake, app: app)
            defer { kill(serve.process.processIdentifier, SIGTERM) }
            var ids: [Int64] = []
            for state in ["Running", "Succeeded"] { ids.append(try await CheckRunEndToEndTests.call(serve, state)) }
            #expect(try await eventually { fake.checkRuns.first?.conclusion == "success" }, "\(serve.log)")
            #expect(fake.checkRuns.count == 1 && fake.statuses.isEmpty && fake.schemaViolations.isEmpty)
            let runID = try #require(fake.checkRuns.first?.id)
            let reader = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
            #expect(try await eventually { try await reader.detail(id: ids[1])?.update.delivery.status == .delivered })

            let db = ["--database", dir.path("statussync.sqlite")]
            let show = try await ServeProcess.cli(["show", "\(ids[1])", "--json"] + db, in: dir)
            #expect(show.status == 0, "\(show.err)")
            let detail = try JSONValue.parse(Data(show.out.utf8))
            #expect(detail["report"] == .string("check"))
            #expect(detail["checkRunId"] == .number(Double(runID)))
            let text = try await ServeProcess.cli(["show", "\(ids[1])"] + db, in: dir)
            #expect(text.out.contains("report:      check, check run \(runID)"), "\(text.out)")
            let history = try await ServeProcess.cli(["history", "--json"] + db, in: dir)
            guard case .array(let rows) = try JSONValue.parse(Data(history.out.utf8)) else { Issue.record("history --json: \(history.out)"); return }
            #expect(rows.allSatisfy { $0["report"] == .string("check") })
        }
    }
}
