import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDashboard
@testable import StatusSyncStore

/// docs/design.md#dashboard: the read-only pages, their escaping, headers and token.
@Suite("Dashboard pages")
struct DashboardTests {
    static let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"

    struct Harness {
        let dir: TempDirectory
        let store: SQLiteStore
        let app: any ApplicationProtocol
    }

    static func harness(token: String? = nil, updates: Int = 3) async throws -> Harness {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        for n in 0..<updates {
            _ = try await store.accept(CallFactory.call(CallFactory.status(n % 2 == 0 ? "Running" : "Failed", context: "ctx-\(n)",
                                                                           description: n == 0 ? hostile : nil)))
        }
        // A rejected call whose error echoes hostile text, and a target URL that is not http(s).
        _ = try await store.accept(CallFactory.call(["repo": "my-org/app", "sha": CallFactory.sha, "state": hostile]))
        // Validation only lets http(s) links in; the page does not rely on it.
        let js = try await store.accept(CallFactory.call(CallFactory.status("Succeeded", context: "js-link", extra: ["targetURL": "https://example.com/x"])))
        try await store.database.writer.write { db in
            try db.execute(sql: "UPDATE updates SET target_url = 'javascript:alert(3)' WHERE id = ?", arguments: [js.updateID])
        }
        var logger = Logger(label: "dashboard-test")
        logger.logLevel = .critical
        let deps = DashboardDependencies(store: store, providers: [ProviderConfig(name: "github", kind: "github", baseURL: "https://api.github.com", token: .environment("X"), pacing: Pacing(burst: 20, perMinute: 80))],
                                         delivery: nil, token: token, listen: ListenAddress(host: "127.0.0.1", port: 0), version: "test", logger: logger)
        return Harness(dir: dir, store: store, app: Application(router: try Dashboard.router(deps), logger: logger))
    }

    static func get(_ client: some TestClientProtocol, _ uri: String, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, HTTPFields, String) {
        try await client.execute(uri: uri, method: .get, headers: headers) { ($0.status, $0.headers, String(buffer: $0.body)) }
    }

    @Test("Every page answers with the security headers; values from calls stay text")
    func pagesAndEscaping() async throws {
        let h = try await Self.harness()
        try await h.app.test(.router) { client in
            for uri in ["/", "/updates", "/updates/1", "/calls", "/calls?rejected=1", "/backlog"] {
                let (status, headers, body) = try await Self.get(client, uri)
                #expect(status == .ok, "\(uri)")
                #expect(headers[.contentSecurityPolicy] == "default-src 'none'; style-src 'self'", "\(uri)")
                #expect(headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(headers[.contentType] == "text/html; charset=utf-8")
                #expect(!body.contains("<script") && !body.contains("<img"), "\(uri) leaks markup")
                #expect(!body.contains("style=") && !body.contains("<style"), "no inline style")
            }
            let (_, _, updates) = try await Self.get(client, "/updates")
            #expect(updates.contains("&lt;script&gt;alert(1)&lt;/script&gt;") == false, "descriptions are not listed in the table")
            let (_, _, detail) = try await Self.get(client, "/updates/1")
            #expect(detail.contains("<dt>Reported as</dt><dd>commit status</dd>"), "\(detail)")
            #expect(detail.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"), "the description is shown as text")
            let (_, _, rejected) = try await Self.get(client, "/calls?rejected=1")
            #expect(rejected.contains("unknown state"), "\(rejected)")
            #expect(rejected.contains("&lt;script&gt;"))
            let (_, css, style) = try await Self.get(client, "/style.css")
            #expect(css[.contentType] == "text/css; charset=utf-8" && style.contains("body"))
        }
    }

    @Test("Overview: counts for all eight delivery statuses and a row per provider with backlog and drain time")
    func overview() async throws {
        let h = try await Self.harness()
        try await h.app.test(.router) { client in
            let (_, _, body) = try await Self.get(client, "/")
            for status in DeliveryStatus.allCases { #expect(body.contains("/updates?delivery=\(status.rawValue)"), "\(status)") }
            #expect(body.contains(#"<span class="n">4</span> <span class="label">queued</span>"#), "\(body)")
            #expect(body.contains("<td>github</td>") || body.contains(">github</a></td>"))
            #expect(body.contains("<td class=\"num\">4</td>"), "four updates wait for github")
        }
    }

    @Test("A target URL becomes a link only when it is http(s)")
    func targetLinks() async throws {
        let h = try await Self.harness()
        let js = try #require(try await h.store.history(HistoryFilter()).first { $0.context == "js-link" })
        try await h.app.test(.router) { client in
            let (_, _, body) = try await Self.get(client, "/updates/\(js.id)")
            #expect(!body.contains("href=\"javascript:"))
            #expect(body.contains("javascript:alert(3)"), "shown as text")
            let (_, _, plain) = try await Self.get(client, "/updates/2")
            #expect(plain.contains("<a href=\"https://argo.example.com/workflows/ci/ci-build-x7k2p\""))
        }
    }

    @Test("/updates: filters as query parameters, 50 a page, newest first, a rel=next link that keeps the filters")
    func paging() async throws {
        let h = try await Self.harness(updates: 60)
        try await h.app.test(.router) { client in
            let (_, _, first) = try await Self.get(client, "/updates?state=running&repo=my-org%2Fapp")
            let ids = Self.updateLinks(first)
            #expect(ids.count == 30, "the 30 running updates of 60: \(ids.count)")
            #expect(ids == ids.sorted(by: >))
            #expect(!first.contains("rel=\"next\""))
            let (_, _, all) = try await Self.get(client, "/updates")
            let page1 = Self.updateLinks(all)
            #expect(page1.count == 50)
            let next = try #require(all.range(of: #"<a rel="next" href=""#).map { all[$0.upperBound...].prefix { $0 != "\"" } })
            #expect(next.hasPrefix("/updates?before=\(page1.last!)") || next.contains("before=\(page1.last!)"))
            let (_, _, second) = try await Self.get(client, String(next).replacingOccurrences(of: "&amp;", with: "&"))
            let page2 = Self.updateLinks(second)
            #expect(page2.count == 11 && page2.first! < page1.last!, "61 updates: 50, then 11")
            let (_, _, filtered) = try await Self.get(client, "/updates?context=ctx-1&delivery=queued")
            #expect(Self.updateLinks(filtered).count == 1)
            #expect(filtered.contains("value=\"ctx-1\""), "the filter is echoed in the form")
            let (status, _, bad) = try await Self.get(client, "/updates?state=%3Cb%3Ebogus")
            #expect(status == .ok && bad.contains("unknown state &quot;&lt;b&gt;bogus&quot;"), "\(bad)")
        }
    }

    static func updateLinks(_ html: String) -> [Int64] {
        html.components(separatedBy: "<td><a href=\"/updates/").dropFirst().compactMap { Int64($0.prefix { $0.isNumber }) }
    }

    @Test("Read-only: other methods get 405; an unknown update 404, with the same headers")
    func methodsAndMissing() async throws {
        let h = try await Self.harness()
        try await h.app.test(.router) { client in
            for method in [HTTPRequest.Method.post, .put, .delete, .patch] {
                try await client.execute(uri: "/updates", method: method) { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(response.headers[.allow] == "GET, HEAD")
                    #expect(response.headers[.contentSecurityPolicy] != nil)
                }
            }
            try await client.execute(uri: "/updates", method: .head) { #expect($0.status == .ok) }
            let (status, headers, _) = try await Self.get(client, "/updates/999999")
            #expect(status == .notFound)
            #expect(headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
        }
        #expect(try await h.store.history(HistoryFilter()).count == 4, "nothing changed")
    }

    @Test("With a token, every page asks for HTTP Basic with the token as password")
    func token() async throws {
        let h = try await Self.harness(token: "s3cret-dashboard-token")
        @Sendable func basic(_ user: String, _ password: String) -> HTTPFields {
            [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
        }
        try await h.app.test(.router) { client in
            let (status, headers, _) = try await Self.get(client, "/")
            #expect(status == .unauthorized)
            #expect(headers[.wwwAuthenticate] == "Basic realm=\"statussync\"")
            #expect(try await Self.get(client, "/", headers: basic("ops", "wrong")).0 == .unauthorized)
            #expect(try await Self.get(client, "/style.css", headers: basic("ops", "s3cret-dashboard-tok")).0 == .unauthorized)
            #expect(try await Self.get(client, "/", headers: basic("ops", "s3cret-dashboard-token")).0 == .ok)
            #expect(try await Self.get(client, "/backlog", headers: basic("", "s3cret-dashboard-token")).0 == .ok)
        }
    }

    @Test("A dashboard outside loopback without ui.tokenFile is refused before anything listens")
    func exposure() throws {
        var ui = UISettings()
        ui.listen = ListenAddress(parsing: "0.0.0.0:3002")
        #expect(throws: ConfigError.self) { try Dashboard.checkExposure(ui) }
        ui.tokenFile = "/etc/statussync/ui-token"
        try Dashboard.checkExposure(ui)
        ui = UISettings()
        ui.listen = ListenAddress(parsing: "127.0.0.1:3002")
        try Dashboard.checkExposure(ui)
    }

    @Test("A check update's page lists the re-runs requested from its run, with their outcome; a sender's name stays text")
    func reruns() async throws {
        let h = try await Self.harness(updates: 0)
        let call = CallFactory.call(CallFactory.status("Failed", context: "ci/check"), workflow: CheckRunTests.workflowA, rules: CheckRunTests.rules)
        let update = try #require(try await h.store.accept(call).updateID)
        try await h.store.database.writer.write { db in
            try db.execute(sql: """
                INSERT INTO check_runs (id, created_at, provider, repo, sha, context, workflow_uid, workflow_namespace, workflow_name, check_run_id, updated_at)
                VALUES (7, 0, 'github', 'my-org/app', ?, 'ci/check', 'uid-a', 'ci', 'build-a', 4000, 0)
                """, arguments: [CallFactory.sha])
        }
        let request = RerunRequest(deliveryID: "d-1", provider: "github", recordID: 7, checkRunID: 4000, repo: "my-org/app",
                                   action: "requested_action", sender: Self.hostile)
        #expect(try await h.store.recordRerun(request, failure: nil) != .unknownRun)
        let job = try #require(try await h.store.claimDueReruns(limit: 1).jobs.first)
        try await h.store.finishRerun(job, attempts: [AttemptRecord(at: Date(), duration: .milliseconds(12), operation: .resubmit, httpStatus: 200, errorClass: "ok", error: nil)],
                                      decision: .delivered, newWorkflow: "build-a-00001")
        try await h.app.test(.router) { client in
            let (status, _, page) = try await Self.get(client, "/updates/\(update)")
            #expect(status == .ok)
            #expect(page.contains("<dt>Reported as</dt><dd>check run"), "\(page)")
            #expect(page.contains("<h2>Re-runs</h2>"))
            #expect(page.contains("<td>requested_action</td><td>&lt;script&gt;alert(1)&lt;/script&gt;"), "\(page)")
            #expect(page.contains("status-delivered") && page.contains("resubmitted as build-a-00001"))
            #expect(!page.contains("<script"))
        }
    }
}
