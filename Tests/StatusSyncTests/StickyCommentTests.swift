import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncProviders

/// Sticky PR comments on every provider (issue: providers, item 5): one comment per
/// (repo, pr, context), found again by its marker on any page, edited in place.
@Suite("Sticky PR comments")
struct StickyCommentTests {
    /// Upserts three times and checks the thread: created once beyond the first page, edited in
    /// place, unchanged when the text is the same; another context gets its own comment.
    static func exercise(_ provider: any StatusProvider, repo: String, comments: FakeComments, thread: String, writes: () -> Int) async throws {
        comments.preload(thread, count: 150)
        let first = StickyComment(pr: 7, context: "ci/argo", body: "**Build** failed")
        #expect(await provider.upsertComment(repo: repo, comment: first).errorClass == .ok)
        let created = comments.all(thread).filter { $0.body.contains(first.marker) }
        #expect(created.count == 1)
        let writesAfterCreate = writes()

        var second = first
        second.body = "**Build** succeeded"
        #expect(await provider.upsertComment(repo: repo, comment: second).errorClass == .ok)
        let edited = comments.all(thread).filter { $0.body.contains(first.marker) }
        #expect(edited.map(\.id) == created.map(\.id), "edited in place, never duplicated")
        #expect(edited.first?.body == second.text)

        #expect(await provider.upsertComment(repo: repo, comment: second).errorClass == .ok)
        #expect(writes() == writesAfterCreate + 1, "the same text again writes nothing")

        let other = StickyComment(pr: 7, context: "lint", body: "clean")
        #expect(await provider.upsertComment(repo: repo, comment: other).errorClass == .ok)
        #expect(comments.all(thread).filter { $0.body.contains("<!-- statussync:comment") }.count == 2)
        #expect(comments.all(thread).count == 152)
    }

    static func writes(_ requests: [FakeTraffic.Request]) -> Int { requests.filter { $0.method != "GET" }.count }

    @Test("GitHub")
    func github() async throws {
        try await FakeGitHub.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = GitHubProvider(name: "gh", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            try await Self.exercise(p, repo: "my-org/app", comments: fake.comments, thread: "my-org/app#7", writes: { fake.requests.filter { $0.method != "GET" }.count })
        }
    }

    @Test("GitLab")
    func gitlab() async throws {
        try await FakeGitLab.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = GitLabProvider(name: "gl", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            try await Self.exercise(p, repo: "group/sub/project", comments: fake.comments, thread: "42!7", writes: { Self.writes(fake.traffic.requests) })
        }
    }

    @Test("Gitea")
    func gitea() async throws {
        try await FakeGitea.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = GiteaProvider(name: "gt", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            try await Self.exercise(p, repo: "my-org/app", comments: fake.comments, thread: "my-org/app#7", writes: { Self.writes(fake.traffic.requests) })
        }
    }

    @Test("Bitbucket Cloud")
    func bitbucketCloud() async throws {
        try await FakeBitbucket.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = BitbucketCloudProvider(name: "bbc", baseURL: fake.baseURL, token: fake.token, pacing: nil, http: http)
            try await Self.exercise(p, repo: "ws/app", comments: fake.comments, thread: "cloud:ws/app#7", writes: { Self.writes(fake.traffic.requests) })
        }
    }

    @Test("Bitbucket Data Center")
    func bitbucketDC() async throws {
        try await FakeBitbucket.run { fake in
            let http = ProviderHTTPClient(timeout: .seconds(20))
            defer { Task { try? await http.shutdown() } }
            let p = BitbucketDCProvider(name: "bbdc", baseURL: fake.baseURL + "/bitbucket", token: fake.token, pacing: nil, http: http)
            try await Self.exercise(p, repo: "PROJ/app", comments: fake.comments, thread: "dc:PROJ/app#7", writes: { Self.writes(fake.traffic.requests) })
        }
    }

    @Test("Pagination links to another origin are never followed")
    func sameOrigin() {
        #expect(CommentUpsert.sameOrigin("https://api.bitbucket.org/2.0/x?page=2", as: "https://api.bitbucket.org/2.0") != nil)
        #expect(CommentUpsert.sameOrigin("https://evil.example/2.0/x?page=2", as: "https://api.bitbucket.org/2.0") == nil)
        #expect(CommentUpsert.sameOrigin("http://api.bitbucket.org/2.0/x", as: "https://api.bitbucket.org/2.0") == nil)
    }

    @Test("The marker hides the context safely in an HTML comment")
    func marker() {
        let c = StickyComment(pr: 1, context: "evil --> <b>", body: "x")
        #expect(c.marker.hasPrefix("<!-- statussync:comment ") && c.marker.hasSuffix(" -->"))
        #expect(!c.marker.dropFirst(4).dropLast(4).contains("-->"))
        #expect(c.text == "x\n\n\(c.marker)")
    }
}
