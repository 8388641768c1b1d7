import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders

@Suite("Bitbucket Cloud and Data Center providers against faithful fakes (docs/provider-matrix.md#bitbucket)")
struct BitbucketProviderTests {
    static func status(_ state: NeutralState, repo: String, context: String = "ci/argo", url: String? = "https://argo.example.com/w", ref: String? = nil) -> StatusDelivery {
        StatusDelivery(repo: repo, sha: CallFactory.sha, ref: ref, context: context, state: state, description: "d", targetURL: url)
    }

    @Test("Keys: the context up to 40 characters, else a stable shortened form with a hash suffix")
    func keys() {
        #expect(Bitbucket.key("ci/argo") == "ci/argo")
        let long = String(repeating: "c", count: 60)
        let key = Bitbucket.key(long)
        #expect(key.count == 40)
        #expect(key == Bitbucket.key(long), "stable")
        #expect(key != Bitbucket.key(long + "x"))
        #expect(Bitbucket.authorization("user:app-pass") == "Basic dXNlcjphcHAtcGFzcw==")
        #expect(Bitbucket.authorization("tok") == "Bearer tok")
    }

    @Test("Cloud: states (docs/provider-matrix.md#provider-states), upsert by key, refname, url required, 429")
    func cloud() async throws {
        try await FakeBitbucket.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = BitbucketCloudProvider(name: "bb", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            let expected: [(NeutralState, String)] = [(.pending, "INPROGRESS"), (.running, "INPROGRESS"), (.success, "SUCCESSFUL"), (.failure, "FAILED"),
                                                      (.error, "FAILED"), (.cancelled, "STOPPED"), (.skipped, "SUCCESSFUL")]
            for (state, bitbucket) in expected {
                #expect(await p.postStatus(Self.status(state, repo: "ws/app", ref: "feature")).errorClass == .ok)
                #expect(fake.builds.last?.state == bitbucket, "\(state)")
            }
            #expect(fake.builds.count == 1, "one key, one status: later posts overwrite it")
            #expect(fake.builds.first?.ref == "feature")
            let long = await p.postStatus(Self.status(.success, repo: "ws/app", context: String(repeating: "x", count: 80)))
            #expect(long.errorClass == .ok)
            let noURL = await p.postStatus(Self.status(.success, repo: "ws/app", url: nil))
            #expect(noURL.errorClass == .permanent)
            #expect(noURL.message?.contains("Enter a valid URL.") == true)
            fake.traffic.enqueue(.status(429, body: "Rate limit for this resource has been exceeded", contentType: "text/plain"))
            guard case .rateLimited = await p.postStatus(Self.status(.success, repo: "ws/app")).errorClass else { Issue.record("429"); return }
            #expect(fake.traffic.requests.allSatisfy { $0.headers["authorization"] == "Bearer \(fake.token)" })
        }
    }

    @Test("Cloud: a PR's 12-character hash is resolved to the full hash, with the source branch")
    func cloudPullRequest() async throws {
        try await FakeBitbucket.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = BitbucketCloudProvider(name: "bb", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            fake.setPull("ws/app", 9, hash: CallFactory.sha, branch: "feature/login")
            let (ok, head) = await p.resolvePullRequestHead(repo: "ws/app", pr: 9)
            #expect(ok.errorClass == .ok)
            #expect(head == PullRequestHead(sha: CallFactory.sha, sourceBranch: "feature/login"))
            #expect(await p.resolvePullRequestHead(repo: "ws/app", pr: 10).0.errorClass == .permanent)
        }
    }

    @Test("Data Center: 204 is success, states with CANCELLED, context path, PR head, whoami")
    func dataCenter() async throws {
        try await FakeBitbucket.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = BitbucketDCProvider(name: "bbdc", baseURL: fake.baseURL + "/bitbucket", token: fake.token, pacing: nil, http: http)
            let expected: [(NeutralState, String)] = [(.pending, "INPROGRESS"), (.running, "INPROGRESS"), (.success, "SUCCESSFUL"), (.failure, "FAILED"),
                                                      (.error, "FAILED"), (.cancelled, "CANCELLED"), (.skipped, "SUCCESSFUL")]
            for (state, bitbucket) in expected {
                let outcome = await p.postStatus(Self.status(state, repo: "PROJ/app", ref: "main"))
                #expect(outcome.errorClass == .ok && outcome.httpStatus == 204, "\(state): \(outcome)")
                #expect(fake.builds.last?.state == bitbucket)
            }
            #expect(fake.builds.last?.ref == "refs/heads/main")
            #expect(fake.traffic.requests.allSatisfy { $0.path.hasPrefix("/bitbucket/") })
            #expect(await p.postStatus(Self.status(.success, repo: "PROJ/app", url: nil)).errorClass == .permanent)
            fake.setPull("PROJ/app", 3, hash: "2222222222222222222222222222222222222222", branch: "feature")
            let (ok, head) = await p.resolvePullRequestHead(repo: "PROJ/app", pr: 3)
            #expect(ok.errorClass == .ok && head == PullRequestHead(sha: "2222222222222222222222222222222222222222", sourceBranch: "feature"))
            let (me, user) = await p.identify()
            #expect(me.errorClass == .ok && user == "statussync-bot")
            let anonymous = BitbucketDCProvider(name: "x", baseURL: fake.baseURL, token: "wrong", pacing: nil, http: http)
            #expect(await anonymous.identify().0.errorClass == .permanent)
        }
    }
}
