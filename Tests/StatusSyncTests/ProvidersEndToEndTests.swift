import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// Every provider kind through the real binary: config, delivery, check.
@Suite("End to end: every provider kind")
struct ProvidersEndToEndTests {
    @Test("github, gitlab, gitea, bitbucket-cloud, bitbucket-dc and azure-devops side by side: each call reaches its provider; check authenticates all")
    func allKinds() async throws {
        try await FakeGitHub.run { github in
            try await FakeGitLab.run { gitlab in
                try await FakeGitea.run { gitea in
                  try await FakeBitbucket.run { bitbucket in
                   try await FakeAzureDevOps.run { azure in
                    let dir = try TempDirectory()
                    let port = try ServeProcess.freePort()
                    let config = dir.path("statussync.yaml")
                    try """
                        listen: 127.0.0.1:\(port)
                        database: \(dir.path("statussync.sqlite"))
                        argoBaseURL: https://argo.example.com
                        providers:
                          - {name: gh, kind: github, baseURL: "\(github.baseURL)", tokenEnv: GH, pacing: {burst: 100, perMinute: 6000}}
                          - {name: gl, kind: gitlab, baseURL: "\(gitlab.baseURL)", tokenEnv: GL}
                          - {name: gt, kind: gitea, baseURL: "\(gitea.baseURL)", tokenEnv: GT}
                          - {name: bbc, kind: bitbucket-cloud, baseURL: "\(bitbucket.baseURL)", tokenEnv: BB}
                          - {name: bbdc, kind: bitbucket-dc, baseURL: "\(bitbucket.baseURL)/bitbucket", tokenEnv: BB}
                          - {name: ado, kind: azure-devops, baseURL: "\(azure.baseURL)", tokenEnv: ADO}
                        delivery: {backoffBase: 50ms, backoffCap: 500ms}
                        """.write(toFile: config, atomically: true, encoding: .utf8)
                    let env = ["GH": github.token, "GL": gitlab.token, "GT": gitea.token, "BB": bitbucket.token, "ADO": azure.token]
                    let serve = try await ServeProcess.start(config: config, port: port, dir: dir, environment: env)
                    defer { kill(serve.process.processIdentifier, SIGTERM) }
                    let url = "\(serve.baseURL)/api/v1/template.execute"
                    for (provider, repo) in [("gh", "my-org/app"), ("gl", "group/sub/project"), ("gt", "my-org/app"), ("bbc", "ws/app"), ("bbdc", "PROJ/app"), ("ado", "Fabrikam-Fiber/app")] {
                        let (code, reply) = try await HTTP.post(url, CallFactory.argsJSON(["provider": provider, "repo": repo, "sha": CallFactory.sha, "state": "Failed", "context": "e2e"]))
                        #expect(code == 200 && reply.contains("\"Succeeded\""), "\(provider): \(reply)")
                    }
                    // azure-devops needs the full sha: a short one is a Failed node naming sha.
                    let (_, short) = try await HTTP.post(url, CallFactory.argsJSON(["provider": "ado", "repo": "Fabrikam-Fiber/app", "sha": "6dcb09b", "state": "Failed", "context": "e2e-short"]))
                    #expect(short.contains("\"Failed\"") && short.contains("sha"), "\(short)")
                    // With pr: head pinned from the PR, a PR status on its iteration, a sticky thread.
                    azure.setPull("Fabrikam-Fiber/app", 7, iterations: [CallFactory.sha, "abcdefabcdefabcdefabcdefabcdefabcdefabcd"])
                    let (prCode, prReply) = try await HTTP.post(url, CallFactory.argsJSON(["provider": "ado", "repo": "Fabrikam-Fiber/app", "pr": "7", "state": "Succeeded",
                                                                                           "context": "ci/e2e", "comment": "all green"]))
                    #expect(prCode == 200 && prReply.contains("\"Succeeded\""), "\(prReply)")
                    #expect(try await eventually { github.statuses.count == 1 && gitlab.jobs.count == 1 && gitea.statuses.count == 1 && bitbucket.builds.count == 2
                        && azure.statuses.count == 2 && azure.threads("Fabrikam-Fiber/app", pr: 7).count == 1 })
                    #expect(azure.statuses.first.map { [$0.state, $0.genre, $0.name] } == ["failed", "argo-workflows", "e2e"])
                    #expect(azure.statuses.last.map { [$0.sha, $0.state, $0.genre, $0.name] } == ["abcdefabcdefabcdefabcdefabcdefabcdefabcd", "succeeded", "ci", "e2e"])
                    #expect(azure.prStatuses.map { "\($0.pr)#\($0.iterationID ?? 0) \($0.state)" } == ["7#2 succeeded"])
                    #expect(azure.violations.isEmpty, "\(azure.violations)")
                    #expect(Set(bitbucket.builds.map(\.state)) == ["FAILED"])
                    #expect(bitbucket.builds.allSatisfy { $0.url == "https://argo.example.com/workflows/ci/ci-build-x7k2p" })
                    #expect(github.statuses.first?.state == "failure")
                    #expect(gitlab.jobs.first?.status == "failed")
                    #expect(gitea.statuses.first?.state == "failure")
                    let store = SQLiteStore(database: try AppDatabase.openReadOnly(path: dir.path("statussync.sqlite")))
                    #expect(try await eventually { try await store.backlogSummary().isEmpty })
                    #expect(try await store.history(HistoryFilter()).allSatisfy { $0.delivery.status == .delivered })

                    let check = try await ServeProcess.cli(["check", "--config", config], environment: env, in: dir)
                    #expect(check.status == 0, "\(check.out)")
                    #expect(check.out.components(separatedBy: "authenticated as statussync-bot").count == 7)
                   }
                  }
                }
            }
        }
    }
}
