import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders

@Suite("GitHub provider against a faithful fake (docs/provider-matrix.md#github, #error-classes)")
struct GitHubProviderTests {
    static func provider(_ fake: FakeGitHub, token: String? = nil, timeout: Duration = .seconds(20), prefix: String = "") -> (GitHubProvider, ProviderHTTPClient) {
        let http = ProviderHTTPClient(timeout: timeout)
        return (GitHubProvider(name: "github", baseURL: fake.baseURL + prefix, token: token ?? fake.token, pacing: nil, http: http), http)
    }

    static func status(_ state: NeutralState, description: String = "Workflow w succeeded", context: String = "ci/argo") -> StatusDelivery {
        StatusDelivery(repo: "my-org/app", sha: CallFactory.sha, ref: nil, context: context, state: state, description: description, targetURL: "https://argo.example.com/workflows/ci/w")
    }

    @Test("Every neutral state is sent as GitHub's state, bodies match the official schema")
    func stateMapping() async throws {
        try await FakeGitHub.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let expected: [(NeutralState, String)] = [(.pending, "pending"), (.running, "pending"), (.success, "success"), (.failure, "failure"),
                                                      (.error, "error"), (.cancelled, "error"), (.skipped, "success")]
            for (state, github) in expected {
                let outcome = await p.postStatus(Self.status(state, context: "ctx-\(state.rawValue)"))
                #expect(outcome.errorClass == .ok)
                #expect(outcome.httpStatus == 201)
                #expect(fake.statuses.last?.state == github, "\(state)")
            }
            #expect(fake.schemaViolations.isEmpty)
            #expect(fake.requests.allSatisfy { $0.authorization == "Bearer \(fake.token)" })
        }
    }

    @Test("Descriptions over 140 are truncated before sending, so the fake's 422 never fires")
    func truncation() async throws {
        try await FakeGitHub.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let outcome = await p.postStatus(Self.status(.failure, description: String(repeating: "ü", count: 300)))
            #expect(outcome.errorClass == .ok)
            let sent = try #require(fake.statuses.last?.description)
            #expect(sent.unicodeScalars.count == 140)
            #expect(sent.hasSuffix("…"))
        }
    }

    @Test("Error classes: 401, 404, 422 permanent with GitHub's message; 5xx transient; 429 and 403 rate limits never permanent")
    func classification() async throws {
        try await FakeGitHub.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            let (bad, http2) = Self.provider(fake, token: "wrong")
            defer { Task { try? await http2.shutdown() } }
            let unauthorized = await bad.postStatus(Self.status(.success))
            #expect(unauthorized.errorClass == .permanent)
            #expect(unauthorized.message?.contains("Bad credentials") == true)
            #expect(unauthorized.message?.contains("wrong") == false, "the token never appears in messages")

            fake.setKnownRepos(["my-org/app"])
            var missing = Self.status(.success)
            missing.repo = "my-org/nope"
            let notFound = await p.postStatus(missing)
            #expect(notFound.errorClass == .permanent)
            #expect(notFound.httpStatus == 404)
            #expect(notFound.message?.contains("not found") == true)

            fake.setKnownSHAs(["0000000"])
            let noCommit = await p.postStatus(Self.status(.success))
            #expect(noCommit.errorClass == .permanent)
            #expect(noCommit.message?.contains("No commit found for SHA") == true)
            fake.setKnownSHAs([CallFactory.sha])

            for code in [500, 502, 503, 504] {
                fake.enqueue(.serverError(code))
                let outcome = await p.postStatus(Self.status(.success))
                #expect(outcome.errorClass == .transient, "\(code)")
                #expect(outcome.httpStatus == code)
            }

            fake.enqueue(.error(429, headers: [("Retry-After", "3")], body: "{\"message\":\"slow down\"}"))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .rateLimited(wait: .seconds(3)))

            let reset = Int(Date().timeIntervalSince1970) + 30
            fake.enqueue(.error(403, headers: [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "\(reset)")], body: "{\"message\":\"API rate limit exceeded for user ID 1.\"}"))
            guard case .rateLimited(let wait) = await p.postStatus(Self.status(.success)).errorClass else { Issue.record("403 + remaining 0 must be rate-limited"); return }
            #expect(wait.waitsUntil(reset), "\(wait)")

            fake.enqueue(.error(403, body: "{\"message\":\"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.\"}"))
            #expect(await p.postStatus(Self.status(.success)).errorClass == .rateLimited(wait: .seconds(60)))

            fake.enqueue(.error(403, body: "{\"message\":\"Resource not accessible by integration\"}"))
            let forbidden = await p.postStatus(Self.status(.success))
            #expect(forbidden.errorClass == .permanent)
            #expect(forbidden.message == "Resource not accessible by integration")
        }
    }

    @Test("The 1000-status cap is a permanent 422 with GitHub's message")
    func statusCap() async throws {
        try await FakeGitHub.run { fake in
            let (p, http) = Self.provider(fake)
            defer { Task { try? await http.shutdown() } }
            for _ in 0..<1000 { _ = await p.postStatus(Self.status(.pending)) }
            let outcome = await p.postStatus(Self.status(.success, context: "CI/ARGO"))
            #expect(outcome.errorClass == .permanent)
            #expect(outcome.message?.contains("reached the maximum number of statuses") == true)
        }
    }

    @Test("Timeouts and refused connections are transient; redirects are never followed")
    func transport() async throws {
        try await FakeGitHub.run { fake in
            let (p, http) = Self.provider(fake, timeout: .milliseconds(300))
            defer { Task { try? await http.shutdown() } }
            fake.enqueue(.slow(.seconds(2)))
            let slow = await p.postStatus(Self.status(.success))
            #expect(slow.errorClass == .transient)
            #expect(slow.httpStatus == nil)

            fake.enqueue(.redirect("\(fake.baseURL)/followed"))
            let (patient, http2) = Self.provider(fake, timeout: .seconds(10))
            defer { Task { try? await http2.shutdown() } }
            let redirected = await patient.postStatus(Self.status(.success))
            #expect(redirected.errorClass == .permanent)
            #expect(redirected.message?.contains("never follows redirects") == true)
            // A followed redirect would have been requested before postStatus returned.
            #expect(!fake.requests.contains { $0.path.hasSuffix("/followed") }, "the redirect was not followed")
        }
        let http = ProviderHTTPClient(timeout: .seconds(2))
        let closed = GitHubProvider(name: "github", baseURL: "http://127.0.0.1:9", token: "t", pacing: nil, http: http)
        let refused = await closed.postStatus(Self.status(.success))
        #expect(refused.errorClass == .transient)
        try await http.shutdown()
    }

    @Test("Pull request head lookup, and Enterprise base URLs (/api/v3)")
    func pullHeadAndEnterprise() async throws {
        try await FakeGitHub.run { fake in
            let (p, http) = Self.provider(fake, prefix: "/api/v3")
            defer { Task { try? await http.shutdown() } }
            fake.setPull("my-org/app", 12, head: "ABCDEF0123456789ABCDEF0123456789ABCDEF01")
            let (ok, head) = await p.resolvePullRequestHead(repo: "my-org/app", pr: 12)
            #expect(ok.errorClass == .ok)
            #expect(head == PullRequestHead(sha: "abcdef0123456789abcdef0123456789abcdef01", sourceBranch: "feature"))
            let (missing, none) = await p.resolvePullRequestHead(repo: "my-org/app", pr: 13)
            #expect(missing.errorClass == .permanent)
            #expect(none == nil)
            #expect(missing.message?.contains("pull request #13 not found") == true)
            #expect(fake.requests.allSatisfy { $0.path.hasPrefix("/api/v3/repos/") })
        }
    }
}
