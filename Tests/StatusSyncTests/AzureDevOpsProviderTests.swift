import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders

@Suite("Azure DevOps provider against a fake organisation validated by the spec")
struct AzureDevOpsProviderTests {
    static let repo = "Fabrikam-Fiber/app"
    static let shas = ["1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333"]

    static func provider(_ fake: FakeAzureDevOps, token: String? = nil) -> (AzureDevOpsProvider, ProviderHTTPClient) {
        let http = ProviderHTTPClient(timeout: .seconds(20))
        return (AzureDevOpsProvider(name: "azure", baseURL: fake.baseURL, token: token ?? fake.token, pacing: nil, http: http), http)
    }

    static func status(_ state: NeutralState, repo: String = repo, sha: String = CallFactory.sha, context: String = "ci/argo",
                       description: String = "d", pr: Int? = nil) -> StatusDelivery {
        StatusDelivery(repo: repo, sha: sha, ref: nil, context: context, state: state, description: description,
                       targetURL: "https://argo.example.com/workflows/ci/w", pr: pr)
    }

    @Test("Neutral states map to Azure's GitStatusState; PAT as Basic with an empty user and X-TFS-FedAuthRedirect on every request")
    func statesAndAuth() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let expected: [(NeutralState, String)] = [(.pending, "pending"), (.running, "pending"), (.success, "succeeded"), (.failure, "failed"),
                                                      (.error, "error"), (.cancelled, "error"), (.skipped, "notApplicable")]
            for (state, azure) in expected {
                let outcome = await p.postStatus(Self.status(state))
                #expect(outcome.errorClass == .ok, "\(state): \(outcome.message ?? "")")
                #expect(fake.statuses.last?.state == azure, "\(state)")
            }
            #expect(fake.statuses.count == 7, "append-only: every POST adds a status")
            #expect(fake.statuses.allSatisfy { $0.targetURL == "https://argo.example.com/workflows/ci/w" && $0.repo == Self.repo })
            let basic = "Basic " + Data(":\(fake.token)".utf8).base64EncodedString()
            #expect(!fake.traffic.requests.isEmpty)
            #expect(fake.traffic.requests.allSatisfy { $0.headers["authorization"] == basic && $0.headers["x-tfs-fedauthredirect"] == "Suppress" })
            #expect(fake.traffic.requests.allSatisfy { $0.path == "/fabrikam/Fabrikam-Fiber/_apis/git/repositories/app/commits/\(CallFactory.sha)/statuses" })
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test("The context splits at its last '/' into genre and name; without '/' the genre is argo-workflows; the description is trimmed to 1024 scalars")
    func contexts() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            for context in ["ci/argo", "a/b/c", "argo"] {
                #expect(await p.postStatus(Self.status(.success, context: context)).errorClass == .ok)
            }
            #expect(fake.statuses.map { "\($0.genre)|\($0.name)" } == ["ci|argo", "a/b|c", "argo-workflows|argo"])
            // Names are escaped in the path: a project name with a space.
            #expect(await p.postStatus(Self.status(.success, repo: "Fabrikam Fiber/app", context: "argo")).errorClass == .ok)
            #expect(fake.statuses.last?.repo == "Fabrikam Fiber/app")
            #expect(fake.traffic.requests.last?.path.hasPrefix("/fabrikam/Fabrikam%20Fiber/_apis/git/repositories/app/") == true, "\(fake.traffic.requests.last?.path ?? "")")
            #expect(await p.postStatus(Self.status(.success, description: String(repeating: "é", count: 2000))).errorClass == .ok)
            let description = fake.statuses.last?.description ?? ""
            #expect(description.unicodeScalars.count == 1024 && description.hasSuffix("…"))
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test("Validation for azure-devops: sha must be the full 40-hex id; a context ending in '/' is invalid; pr without sha is fine")
    func pluginBodyRules() throws {
        let rules = PluginBodyRules(providers: [.init(name: "azure", traits: AzureDevOpsProvider.traits)], argoBaseURL: nil)
        func parse(_ body: [String: String]) -> Result<StatusRequest, PluginBodyError> {
            Result { () throws(PluginBodyError) in
                try StatusRequest.parse(body: .object(body.mapValues(JSONValue.string)), workflow: CallFactory.workflow, rules: rules)
            }
        }
        #expect(ProviderRegistry.type(forKind: "azure-devops") != nil, "registered from Kinds/AzureDevOpsProvider.swift")
        let ok = try parse(["repo": "Fabrikam-Fiber/app", "sha": CallFactory.sha, "state": "Running", "context": "ci/argo"]).get()
        #expect(ok.providerKind == "azure-devops" && ok.repo == "Fabrikam-Fiber/app")
        #expect((try? parse(["repo": "P/r", "pr": "7", "state": "Running"]).get())?.pr == 7)
        #expect((try? parse(["repo": "Fabrikam Fiber/my app", "sha": CallFactory.sha, "state": "Running"]).get())?.repo == "Fabrikam Fiber/my app",
                "Azure project and repository names may contain spaces")
        for bad in ["Fabrikam Fiber /app", " /app", "a/b/c"] {
            #expect((try? parse(["repo": bad, "sha": CallFactory.sha, "state": "Running"]).get()) == nil, "\(bad)")
        }
        guard case .failure(let short) = parse(["repo": "P/r", "sha": "6dcb09b", "state": "Running"]) else { Issue.record("short sha accepted"); return }
        #expect(short.message.hasPrefix("sha \"6dcb09b\"") && short.message.contains("40"), "\(short.message)")
        guard case .failure(let slash) = parse(["repo": "P/r", "sha": CallFactory.sha, "state": "Running", "context": "ci/"]) else { Issue.record("ci/ accepted"); return }
        #expect(slash.message.hasPrefix("context \"ci/\""), "\(slash.message)")
        // Other kinds keep their rules.
        #expect((try? StatusRequest.parse(body: .object(["repo": "o/r", "sha": "6dcb09b", "state": "Running", "context": "ci/"]),
                                          workflow: CallFactory.workflow, rules: CallFactory.rules)) != nil)
    }

    @Test("pr: the head is lastMergeSourceCommit; the PR status goes to the iteration whose sourceRefCommit is the pinned head, looked up once")
    func pullRequestStatus() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            fake.setPull(Self.repo, 7, iterations: Self.shas, sourceRef: "refs/heads/feature/x")
            let (outcome, head) = await p.resolvePullRequestHead(repo: Self.repo, pr: 7)
            #expect(outcome.errorClass == .ok)
            #expect(head == PullRequestHead(sha: Self.shas[2], sourceBranch: "feature/x"))
            #expect(await p.postStatus(Self.status(.running, sha: Self.shas[2], pr: 7)).errorClass == .ok)
            #expect(await p.postStatus(Self.status(.success, sha: Self.shas[2], pr: 7)).errorClass == .ok)
            // A workflow pinned to an older head reports on its own iteration, not the latest.
            #expect(await p.postStatus(Self.status(.failure, sha: Self.shas[0], context: "lint", pr: 7)).errorClass == .ok)
            #expect(fake.prStatuses == [
                .init(repo: Self.repo, pr: 7, iterationID: 3, state: "pending", genre: "ci", name: "argo"),
                .init(repo: Self.repo, pr: 7, iterationID: 3, state: "succeeded", genre: "ci", name: "argo"),
                .init(repo: Self.repo, pr: 7, iterationID: 1, state: "failed", genre: "argo-workflows", name: "lint"),
            ])
            #expect(fake.statuses.map(\.sha) == [Self.shas[2], Self.shas[2], Self.shas[0]], "the commit status is posted too")
            #expect(fake.traffic.requests.filter { $0.path.hasSuffix("/iterations") }.count == 2, "one lookup per (pr, head)")
            #expect(fake.traffic.requests.contains { $0.path == "/fabrikam/Fabrikam-Fiber/_apis/git/repositories/app/pullRequests/7/statuses" })

            // A commit no iteration has: the commit status only, and the outcome says why.
            let other = await p.postStatus(Self.status(.success, sha: CallFactory.sha, pr: 7))
            #expect(other.errorClass == .ok)
            #expect(other.message?.contains("no iteration of pull request 7") == true, "\(other.message ?? "")")
            #expect(fake.prStatuses.count == 3)

            let missing = await p.resolvePullRequestHead(repo: Self.repo, pr: 99)
            #expect(missing.0.errorClass == .permanent && missing.0.httpStatus == 404)
            #expect(missing.0.message?.contains("TF401180") == true, "\(missing.0.message ?? "")")
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test("Sticky comment: one thread per context, found by its marker on page 2, edited in place, not rewritten when unchanged")
    func threadsAcrossPages() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            fake.setPull(Self.repo, 7, iterations: Self.shas)
            fake.preloadThreads(Self.repo, pr: 7, count: 3)
            fake.pageThreads(by: 2)
            let first = StickyComment(pr: 7, context: "ci/argo", body: "**Build** running")
            #expect(await p.upsertComment(repo: Self.repo, comment: first).errorClass == .ok)
            var threads = fake.threads(Self.repo, pr: 7)
            #expect(threads.count == 4)
            let mine = try #require(threads.last)
            #expect(mine.comments.map(\.content) == [first.text])
            #expect(mine.status == "closed")
            #expect(mine.properties[AzureDevOpsProvider.markerProperty] == first.marker)

            // Our thread is the 4th: page 2 of 2-thread pages.
            var seen = fake.traffic.requests.count
            let second = StickyComment(pr: 7, context: "ci/argo", body: "**Build** failed")
            let edited = await p.upsertComment(repo: Self.repo, comment: second)
            #expect(edited.errorClass == .ok, "\(edited.message ?? "")")
            threads = fake.threads(Self.repo, pr: 7)
            #expect(threads.count == 4, "edited, not duplicated")
            #expect(threads.last?.comments.map(\.content) == [second.text])
            #expect(fake.traffic.requests.dropFirst(seen).map(\.method) == ["GET", "GET", "PATCH"])
            #expect(fake.traffic.requests.last?.path == "/fabrikam/Fabrikam-Fiber/_apis/git/repositories/app/pullRequests/7/threads/\(mine.id)/comments/1")

            seen = fake.traffic.requests.count
            let unchanged = await p.upsertComment(repo: Self.repo, comment: second)
            #expect(unchanged.errorClass == .ok)
            #expect(fake.traffic.requests.dropFirst(seen).map(\.method) == ["GET", "GET"], "nothing written when unchanged")

            // Another context gets its own thread; the list without pages (as the spec has it) works too.
            fake.pageThreads(by: nil)
            #expect(await p.upsertComment(repo: Self.repo, comment: StickyComment(pr: 7, context: "lint", body: "ok")).errorClass == .ok)
            #expect(await p.upsertComment(repo: Self.repo, comment: StickyComment(pr: 7, context: "lint", body: "ok")).errorClass == .ok)
            #expect(fake.threads(Self.repo, pr: 7).count == 5)
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }

    @Test("A thread found by its marker property alone is rewritten with the full text")
    func markerProperty() {
        let comment = StickyComment(pr: 7, context: "ci/argo", body: "hello")
        let thread: JSONValue = .object([
            "id": .number(12), "isDeleted": .bool(false),
            "properties": .object([AzureDevOpsProvider.markerProperty: .object(["$type": .string("System.String"), "$value": .string(comment.marker)])]),
            "comments": .array([.object(["id": .number(1), "parentCommentId": .number(0), "content": .string("hello")])]),
        ])
        let found = AzureDevOpsProvider.statussyncComment(in: thread, marker: comment.marker)
        #expect(found?.id == "12/1")
        #expect(found?.body != comment.text)
        #expect(AzureDevOpsProvider.statussyncComment(in: thread, marker: StickyComment(pr: 7, context: "other", body: "x").marker) == nil)
    }

    @Test("A rejected PAT: 203 with the sign-in page, an HTML 200, or 401 TF400813 are permanent auth failures with a clear message")
    func badCredentials() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            fake.traffic.enqueue(.status(203, body: FakeAzureDevOps.signInPage, contentType: "text/html; charset=utf-8"))
            let signIn = await p.postStatus(Self.status(.success))
            #expect(signIn.errorClass == .permanent && signIn.httpStatus == 203)
            #expect(signIn.message?.contains("Azure DevOps answered with a sign-in page: the PAT is invalid or expired") == true, "\(signIn.message ?? "")")
            fake.traffic.enqueue(.status(200, body: "<html>sign in</html>", contentType: "text/plain"))
            let html = await p.resolvePullRequestHead(repo: Self.repo, pr: 7)
            #expect(html.0.errorClass == .permanent)
            #expect(html.0.message?.contains("sign-in page") == true)
            #expect(fake.statuses.isEmpty)

            // A wrong PAT with X-TFS-FedAuthRedirect: Suppress gets 401 JSON.
            let (wrong, http2) = Self.provider(fake, token: "not-the-pat")
            defer { Task { try? await http2.shutdown() } }
            let rejected = await wrong.postStatus(Self.status(.success))
            #expect(rejected.errorClass == .permanent && rejected.httpStatus == 401)
            #expect(rejected.message?.contains("TF400813") == true && rejected.message?.contains("not-the-pat") == false, "\(rejected.message ?? "")")
            let who = await wrong.identify()
            #expect(who.0.errorClass == .permanent && who.identity == nil)
            #expect(fake.statuses.isEmpty)
        }
    }

    @Test("The fake answers a client without X-TFS-FedAuthRedirect the sign-in page (203), and a write without api-version 400")
    func fakeIsFaithful() async throws {
        try await FakeAzureDevOps.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let url = "\(fake.baseURL)/Fabrikam-Fiber/_apis/git/repositories/app/commits/\(CallFactory.sha)/statuses"
            let anonymous = try await http.send(method: .POST, url: url + "?api-version=7.1", headers: [("Authorization", "Basic Onh4eA==")], body: Data("{}".utf8)).get()
            #expect(anonymous.status == 203 && anonymous.header("Content-Type")?.hasPrefix("text/html") == true)
            let basic = "Basic " + Data("anyone:\(fake.token)".utf8).base64EncodedString()
            let unversioned = try await http.send(method: .POST, url: url, headers: [("Authorization", basic)], body: Data(#"{"state":"succeeded","context":{"name":"x"}}"#.utf8)).get()
            #expect(unversioned.status == 400)
            let unknownField = try await http.send(method: .POST, url: url + "?api-version=7.1", headers: [("Authorization", basic)],
                                                   body: Data(#"{"state":"succeeded","context":{"name":"x"},"target_url":"u"}"#.utf8)).get()
            #expect(unknownField.status == 400)
            let badState = try await http.send(method: .POST, url: url + "?api-version=7.1", headers: [("Authorization", basic)],
                                               body: Data(#"{"state":"success","context":{"name":"x"}}"#.utf8)).get()
            #expect(badState.status == 400)
            #expect(fake.violations.count == 3, "\(fake.violations)")
            #expect(fake.statuses.isEmpty)
        }
    }

    @Test("403, 404 (repository, project) are permanent with Azure's message; 500 is transient")
    func permanentAndTransient() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            fake.traffic.enqueue(.status(403, body: #"{"$id":"1","message":"TF401027: You need the Git 'GenericContribute' permission to perform this action.","typeKey":"GitNeedsPermissionException"}"#))
            let forbidden = await p.postStatus(Self.status(.success))
            #expect(forbidden.errorClass == .permanent && forbidden.httpStatus == 403)
            #expect(forbidden.message?.contains("TF401027") == true)
            let noRepo = await p.postStatus(Self.status(.success, repo: "Fabrikam-Fiber/nope"))
            #expect(noRepo.errorClass == .permanent && noRepo.httpStatus == 404)
            #expect(noRepo.message?.contains("TF401019") == true, "\(noRepo.message ?? "")")
            let noProject = await p.postStatus(Self.status(.success, repo: "Nope/app"))
            #expect(noProject.errorClass == .permanent && noProject.message?.contains("TF200016") == true)
            fake.traffic.enqueue(.status(500, body: #"{"message":"TF246017: Azure DevOps could not connect to the database."}"#))
            let broken = await p.postStatus(Self.status(.success))
            #expect(broken.errorClass == .transient && broken.message?.contains("TF246017") == true)
            #expect(fake.statuses.isEmpty)
        }
    }

    @Test("Rate limits: 429 waits Retry-After; X-RateLimit-Delay without it waits for X-RateLimit-Reset, else backs off exponentially; a 2xx with Retry-After holds the next call")
    func rateLimits() async throws {
        try await FakeAzureDevOps.run { fake in
            let now = Date()
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = AzureDevOpsProvider(name: "azure", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http, now: { now })
            let blocked = #"{"message":"TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'.","typeKey":"RequestBlockedException"}"#
            fake.traffic.enqueue(.status(429, headers: [("Retry-After", "7"), ("X-RateLimit-Resource", "Core")], body: blocked))
            let limited = await p.postStatus(Self.status(.success))
            #expect(limited.errorClass == .rateLimited(wait: .seconds(7)))
            #expect(limited.message?.contains("TF400733") == true)

            let reset = Int(now.timeIntervalSince1970) + 30
            fake.traffic.enqueue(.status(503, headers: [("X-RateLimit-Delay", "2.5"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "\(reset)")], body: blocked))
            let untilReset = await p.postStatus(Self.status(.success))
            guard case .rateLimited(let wait) = untilReset.errorClass else { Issue.record("\(untilReset.errorClass)"); return }
            #expect(wait > .seconds(29) && wait <= .seconds(31), "\(wait)")

            fake.traffic.enqueue(.status(503, headers: [("X-RateLimit-Delay", "1.5")], body: blocked),
                                 .status(429, body: blocked))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .rateLimited(wait: .seconds(5)))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .rateLimited(wait: .seconds(10)), "doubles while rate limits follow each other")
            #expect(await p.postStatus(Self.status(.success)).errorClass == .ok)
            fake.traffic.enqueue(.status(429, body: blocked))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .rateLimited(wait: .seconds(5)), "a success resets the backoff")

            // A delayed request that still succeeded asks the client to wait before the next one.
            fake.traffic.enqueue(.status(201, headers: [("Retry-After", "60"), ("X-RateLimit-Delay", "3.2")], body: "{}"))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .ok)
            let before = fake.traffic.requests.count
            let held = await p.postStatus(Self.status(.success))
            #expect(held.errorClass == .rateLimited(wait: .seconds(60)))
            #expect(fake.traffic.requests.count == before, "not sent while Azure asked to wait")
        }
    }

    @Test("check: connectionData without api-version names the authenticated user")
    func identify() async throws {
        try await FakeAzureDevOps.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let (outcome, identity) = await p.identify()
            #expect(outcome.errorClass == .ok)
            #expect(identity == "statussync-bot")
            #expect(fake.traffic.requests.map(\.path) == ["/fabrikam/_apis/connectionData"])
            #expect(fake.violations.isEmpty, "\(fake.violations)")
        }
    }
}
