import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders

@Suite("GitLab provider against a faithful fake (docs/provider-matrix.md#gitlab)")
struct GitLabProviderTests {
    static func provider(_ fake: FakeGitLab, token: String? = nil) -> (GitLabProvider, ProviderHTTPClient) {
        let http = ProviderHTTPClient(timeout: .seconds(20))
        return (GitLabProvider(name: "gitlab", baseURL: fake.baseURL, token: token ?? fake.token, pacing: nil, http: http), http)
    }

    static func status(_ state: NeutralState, repo: String = "group/sub/project", context: String = "ci/argo", description: String = "d", ref: String? = nil) -> StatusDelivery {
        StatusDelivery(repo: repo, sha: CallFactory.sha, ref: ref, context: context, state: state, description: description, targetURL: "https://argo.example.com/w")
    }

    @Test("Neutral states map to GitLab's (docs/provider-matrix.md#provider-states); the project path is resolved once to its numeric id")
    func statesAndProjectID() async throws {
        try await FakeGitLab.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let expected: [(NeutralState, String)] = [(.pending, "pending"), (.running, "running"), (.success, "success"), (.failure, "failed"),
                                                      (.error, "failed"), (.cancelled, "canceled"), (.skipped, "skipped")]
            for (state, gitlab) in expected {
                let outcome = await p.postStatus(Self.status(state, context: "ctx-\(state.rawValue)"))
                #expect(outcome.errorClass == .ok, "\(state): \(outcome.message ?? "")")
                #expect(fake.jobs.last?.status == gitlab)
            }
            #expect(fake.jobs.allSatisfy { $0.projectID == 42 })
            let lookups = fake.traffic.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/api/v4/projects/") }
            #expect(lookups.count == 1)
            #expect(lookups.first?.path == "/api/v4/projects/group%2Fsub%2Fproject")
            #expect(fake.traffic.requests.filter { $0.method == "POST" }.allSatisfy { $0.path.hasPrefix("/api/v4/projects/42/statuses/") })
            #expect(fake.traffic.requests.allSatisfy { $0.headers["private-token"] == fake.token })
        }
    }

    @Test("The state machine: same non-terminal state or running→pending is never an error; terminal after running works")
    func transitions() async throws {
        try await FakeGitLab.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            #expect(await p.postStatus(Self.status(.pending, description: "a")).errorClass == .ok)
            let posts = { fake.traffic.requests.filter { $0.method == "POST" }.count }
            #expect(await p.postStatus(Self.status(.pending, description: "b")).errorClass == .ok)
            #expect(posts() == 1, "pending→pending is not sent")
            #expect(await p.postStatus(Self.status(.running)).errorClass == .ok)
            #expect(await p.postStatus(Self.status(.pending)).errorClass == .ok)
            #expect(posts() == 2, "running→pending is not sent")
            // A restarted statussync (empty cache) meets GitLab's 400 and counts it as delivered.
            let (fresh, http2) = Self.provider(fake)
            defer { Task { try? await http2.shutdown() } }
            let again = await fresh.postStatus(Self.status(.running))
            #expect(again.errorClass == .ok)
            #expect(again.httpStatus == 400)
            #expect(again.message?.contains("Cannot transition status via :run from :running") == true)
            let backwards = await fresh.postStatus(Self.status(.pending, context: "ci/argo"))
            #expect(backwards.errorClass == .ok, "GitLab is already running: pending adds nothing")
            #expect(await fresh.postStatus(Self.status(.success)).errorClass == .ok)
            #expect(fake.jobs.filter { $0.name == "ci/argo" }.map(\.status) == ["success"])
            // A transition GitLab refuses for another reason is permanent.
            _ = await fresh.postStatus(Self.status(.running, context: "other"))
            let skip = await fresh.postStatus(Self.status(.skipped, context: "other"))
            #expect(skip.errorClass == .permanent)
        }
    }

    @Test("409 transient, 429 with and without headers rate-limited, 404 and 401 permanent, ref sent, description cut to 255")
    func errors() async throws {
        try await FakeGitLab.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            fake.traffic.enqueue(.status(409, body: #"{"message":"Another update to this commit status is in progress"}"#))
            #expect(await p.postStatus(Self.status(.success, context: "a")).errorClass == .transient)
            fake.traffic.enqueue(.status(429, headers: [("Retry-After", "3"), ("RateLimit-Remaining", "0")], body: "Retry later", contentType: "text/plain"))
            #expect(await p.postStatus(Self.status(.success, context: "a")).errorClass == .rateLimited(wait: .seconds(3)))
            fake.traffic.enqueue(.status(429, body: "Retry later", contentType: "text/plain"))
            guard case .rateLimited = await p.postStatus(Self.status(.success, context: "a")).errorClass else { Issue.record("bare 429"); return }
            let reset = Int(Date().timeIntervalSince1970) + 20
            fake.traffic.enqueue(.status(429, headers: [("RateLimit-Remaining", "0"), ("RateLimit-Reset", "\(reset)")], body: "Retry later", contentType: "text/plain"))
            guard case .rateLimited(let wait) = await p.postStatus(Self.status(.success, context: "a")).errorClass else { Issue.record("429 + reset"); return }
            #expect(wait.waitsUntil(reset), "\(wait)")
            fake.traffic.enqueue(.status(502, body: "bad gateway", contentType: "text/plain"))
            #expect(await p.postStatus(Self.status(.success, context: "a")).errorClass == .transient)

            let missing = await p.postStatus(Self.status(.success, repo: "nobody/nothing"))
            #expect(missing.errorClass == .permanent)
            #expect(missing.message?.contains("project nobody/nothing not found") == true)
            var badSHA = Self.status(.success, context: "b")
            badSHA.sha = "zzzzzzz"
            #expect(await p.postStatus(badSHA).errorClass == .permanent)
            let (wrong, http2) = Self.provider(fake, token: "wrong")
            defer { Task { try? await http2.shutdown() } }
            let unauthorized = await wrong.postStatus(Self.status(.success, repo: "my-org/app"))
            #expect(unauthorized.errorClass == .permanent && unauthorized.httpStatus == 401)

            #expect(await p.postStatus(Self.status(.failure, context: "c", description: String(repeating: "x", count: 400), ref: "feature")).errorClass == .ok)
            let job = try #require(fake.jobs.last)
            #expect(job.ref == "feature")
            #expect(job.description?.count == 255)
        }
    }

    @Test("Merge request iid → its head sha")
    func mergeRequest() async throws {
        try await FakeGitLab.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            fake.setMergeRequest("group/sub/project", 5, sha: "ABCDEF0123456789ABCDEF0123456789ABCDEF01")
            let (ok, head) = await p.resolvePullRequestHead(repo: "group/sub/project", pr: 5)
            #expect(ok.errorClass == .ok && head == PullRequestHead(sha: "abcdef0123456789abcdef0123456789abcdef01", sourceBranch: "feature"))
            let (missing, none) = await p.resolvePullRequestHead(repo: "group/sub/project", pr: 6)
            #expect(missing.errorClass == .permanent && none == nil)
            let (me, name) = await p.identify()
            #expect(me.errorClass == .ok && name == "statussync-bot")
        }
    }
}

@Suite("Gitea provider against a faithful fake (docs/provider-matrix.md#gitea)")
struct GiteaProviderTests {
    static func provider(_ fake: FakeGitea) -> (GiteaProvider, ProviderHTTPClient) {
        let http = ProviderHTTPClient(timeout: .seconds(20))
        return (GiteaProvider(name: "gitea", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http), http)
    }

    static func status(_ state: NeutralState, repo: String = "my-org/app", context: String = "ci/argo", sha: String = CallFactory.sha) -> StatusDelivery {
        StatusDelivery(repo: repo, sha: sha, ref: nil, context: context, state: state, description: "d", targetURL: "https://argo.example.com/w")
    }

    @Test("States (docs/provider-matrix.md#provider-states), token auth, append-only statuses")
    func states() async throws {
        try await FakeGitea.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let expected: [(NeutralState, String)] = [(.pending, "pending"), (.running, "pending"), (.success, "success"), (.failure, "failure"),
                                                      (.error, "error"), (.cancelled, "error"), (.skipped, "success")]
            for (state, gitea) in expected {
                #expect(await p.postStatus(Self.status(state)).errorClass == .ok)
                #expect(fake.statuses.last?.state == gitea, "\(state)")
            }
            #expect(fake.statuses.count == expected.count, "every POST appends a row")
            #expect(fake.traffic.requests.allSatisfy { $0.headers["authorization"] == "token \(fake.token)" })
        }
    }

    @Test("Unknown repo 404 permanent, unparsable sha 500 transient, pull request head")
    func errorsAndPulls() async throws {
        try await FakeGitea.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let missing = await p.postStatus(Self.status(.success, repo: "my-org/none"))
            #expect(missing.errorClass == .permanent && missing.httpStatus == 404)
            #expect(await p.postStatus(Self.status(.success, sha: "not-a-sha")).errorClass == .transient)
            fake.traffic.enqueue(.status(429, headers: [("Retry-After", "2")], body: "slow down", contentType: "text/plain"))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .rateLimited(wait: .seconds(2)))
            fake.setPull("my-org/app", 3, head: "1111111111111111111111111111111111111111")
            let (ok, head) = await p.resolvePullRequestHead(repo: "my-org/app", pr: 3)
            #expect(ok.errorClass == .ok && head?.sha == "1111111111111111111111111111111111111111" && head?.sourceBranch == "feature")
            #expect(await p.resolvePullRequestHead(repo: "my-org/app", pr: 4).0.errorClass == .permanent)
        }
    }
}
