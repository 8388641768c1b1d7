import Foundation
import Testing
@testable import StatusSyncProviders
@testable import StatusSyncCore

@Suite("Plugin body validation (docs/design.md#plugin-body)")
struct PluginBodyTests {
    func parse(_ body: [String: JSONValue], rules: PluginBodyRules = CallFactory.rules) throws(PluginBodyError) -> StatusRequest {
        try StatusRequest.parse(body: .object(body), workflow: CallFactory.workflow, rules: rules)
    }

    func error(_ body: [String: JSONValue], rules: PluginBodyRules = CallFactory.rules) -> String? {
        do {
            _ = try parse(body, rules: rules)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("Argo phases and neutral states in any case map to neutral states; anything else is invalid")
    func stateMapping() throws {
        let cases: [(String, NeutralState)] = [
            ("Pending", .pending), ("Running", .running), ("Succeeded", .success), ("Failed", .failure), ("Error", .error),
            ("Skipped", .skipped), ("Omitted", .skipped), ("pending", .pending), ("RUNNING", .running), ("success", .success),
            ("failure", .failure), ("error", .error), ("cancelled", .cancelled), ("Skipped", .skipped),
        ]
        for (text, expected) in cases {
            #expect(try parse(["repo": "o/r", "sha": "abcdef1", "state": .string(text)]).state == expected, "\(text)")
        }
        for bad in ["done", "canceled", "", "ok", "Succeed"] {
            let message = error(["repo": "o/r", "sha": "abcdef1", "state": .string(bad)])
            #expect(message?.contains("state") == true, "\(bad) must be rejected, got \(message ?? "accepted")")
        }
    }

    @Test("Defaults: context, description per state, targetURL from argoBaseURL")
    func defaults() throws {
        let r = try parse(["repo": "my-org/app", "sha": "ABCDEF1234567", "status": "Succeeded"])
        #expect(r.context == "argo-workflows")
        #expect(r.description == "Workflow ci-build-x7k2p succeeded")
        #expect(r.targetURL == "https://argo.example.com/workflows/ci/ci-build-x7k2p")
        #expect(r.sha == "abcdef1234567")
        #expect(r.provider == "github")
        let descriptions: [(String, String)] = [
            ("pending", "is pending"), ("running", "is running"), ("failure", "failed"), ("error", "errored"),
            ("cancelled", "was cancelled"), ("skipped", "was skipped"),
        ]
        for (state, tail) in descriptions {
            #expect(try parse(["repo": "o/r", "sha": "abcdef1", "state": .string(state)]).description == "Workflow ci-build-x7k2p \(tail)")
        }
    }

    @Test("Aliases and owner+repo; aliases that disagree are an error")
    func aliases() throws {
        let r = try parse(["owner": "my-org", "repo": "app", "sha": "abcdef1", "status": "running", "label": "build", "target_url": "https://x.example/1"])
        #expect(r.repo == "my-org/app")
        #expect(r.context == "build")
        #expect(r.targetURL == "https://x.example/1")
        #expect(error(["repo": "o/r", "sha": "abcdef1", "state": "running", "status": "failed"])?.contains("keep only one") == true)
    }

    @Test("Every invalid body gets a message naming the field and the fix")
    func invalidBodies() {
        let cases: [([String: JSONValue], String)] = [
            (["sha": "abcdef1", "state": "running"], "missing repo"),
            (["repo": "o/r", "state": "running"], "missing sha or pr"),
            (["repo": "o/r", "sha": "xyz", "state": "running"], "invalid sha"),
            (["repo": "o/r", "sha": "abcdef1"], "missing state"),
            (["repo": "https://github.com/o/r", "sha": "abcdef1", "state": "running"], "invalid repo"),
            (["repo": "o/r/x", "sha": "abcdef1", "state": "running"], "invalid repo"),
            (["repo": "o/r", "sha": "abcdef1", "state": "running", "provider": "gitlab"], "unknown provider"),
            (["repo": "o/r", "sha": "abcdef1", "state": "running", "provider": "https://github.com"], "not a URL"),
            (["repo": "o/r", "sha": "abcdef1", "state": "running", "targetURL": "ftp://x"], "not an http(s) URL"),
            (["repo": "o/r", "sha": "abcdef1", "state": "running", "comment": "hi"], "comment needs pr"),
            (["repo": "o/r", "pr": "abc", "state": "running"], "not a pull request number"),
            (["repo": "o/r", "sha": .number(1234567), "state": "running"], "write it as a string"),
            (["repo": "o/r", "sha": "abcdef1", "state": "running", "wait": "maybe"], "not a boolean"),
        ]
        for (body, expected) in cases {
            let message = error(body)
            #expect(message?.contains(expected) == true, "expected \"\(expected)\" for \(body), got \(message ?? "accepted")")
        }
        #expect((try? StatusRequest.parse(body: .string("x"), workflow: CallFactory.workflow, rules: CallFactory.rules)) == nil)
    }

    @Test("Repository paths: slashes, .git and spaces are trimmed; nested paths only where the provider has them; anything else is invalid")
    func repoPaths() throws {
        let nested = PluginBodyRules(providers: [.init(name: "gitlab", traits: GitLabProvider.traits)], argoBaseURL: nil)
        let accepted: [(String, String, PluginBodyRules)] = [
            ("o/r", "o/r", CallFactory.rules), ("  /my-org/app.git/ ", "my-org/app", CallFactory.rules), ("//o/r//", "o/r", CallFactory.rules),
            ("My.Org/r_e-p.o", "My.Org/r_e-p.o", CallFactory.rules), ("o/r.git.git", "o/r.git", CallFactory.rules),
            ("group/sub/app", "group/sub/app", nested), ("/group/sub/deeper/app.git", "group/sub/deeper/app", nested),
        ]
        for (repo, expected, rules) in accepted {
            #expect(try parse(["repo": .string(repo), "sha": "abcdef1", "state": "running"], rules: rules).repo == expected, "\(repo)")
        }
        let rejected: [(String, PluginBodyRules)] = [
            ("o", CallFactory.rules), ("o/r/x", CallFactory.rules), ("o//r", CallFactory.rules), ("./r", CallFactory.rules), ("o/..", CallFactory.rules),
            ("o/r x", CallFactory.rules), ("ö/r", CallFactory.rules), ("o/r\u{301}", CallFactory.rules), ("/\u{301}o/r", CallFactory.rules), ("/.git", CallFactory.rules), ("o", nested),
            ("https://github.com/o/r", CallFactory.rules), ("g/s//a", nested),
        ]
        for (repo, rules) in rejected {
            let message = error(["repo": .string(repo), "sha": "abcdef1", "state": "running"], rules: rules)
            #expect(message?.contains("invalid repo") == true, "\(repo): \(message ?? "accepted")")
        }
    }

    @Test("Provider: optional with exactly one, required with several, and none configured is explained")
    func providerChoice() throws {
        let two = PluginBodyRules(providers: [.init(name: "github", traits: GitHubProvider.traits), .init(name: "ghe", traits: GitHubProvider.traits)], argoBaseURL: nil)
        #expect(error(["repo": "o/r", "sha": "abcdef1", "state": "running"], rules: two)?.contains("missing provider") == true)
        #expect(try parse(["repo": "o/r", "sha": "abcdef1", "state": "running", "provider": "ghe"], rules: two).provider == "ghe")
        let none = PluginBodyRules(providers: [], argoBaseURL: nil)
        #expect(error(["repo": "o/r", "sha": "abcdef1", "state": "running"], rules: none)?.contains("no provider is configured") == true)
    }

    @Test("pr as string or number; wait true/false; Bitbucket without any URL is invalid")
    func prWaitAndBitbucket() throws {
        #expect(try parse(["repo": "o/r", "pr": "42", "state": "running"]).pr == 42)
        #expect(try parse(["repo": "o/r", "pr": .number(7), "state": "running"]).pr == 7)
        #expect(try parse(["repo": "o/r", "pr": "7", "state": "running", "wait": "true"]).wait)
        #expect(try parse(["repo": "o/r", "pr": "7", "state": "running", "wait": .bool(false)]).wait == false)
        let bb = PluginBodyRules(providers: [.init(name: "bb", traits: ProviderTraits(kind: "bitbucket-cloud", defaultBaseURL: nil, baseURLHelp: "", requiresTargetURL: true))], argoBaseURL: nil)
        #expect(error(["repo": "ws/app", "sha": "abcdef1", "state": "running"], rules: bb)?.contains("requires a link") == true)
    }
}

@Suite("Provider states, descriptions, durations, JSON")
struct CoreValueTests {
    @Test("Descriptions are cut in Unicode scalars with the … inside the limit")
    func truncation() {
        let long = String(repeating: "é", count: 200)
        let cut = long.truncated(toScalars: 140)
        #expect(cut.unicodeScalars.count == 140)
        #expect(cut.hasSuffix("…"))
        #expect("short".truncated(toScalars: 140) == "short")
        let exact = String(repeating: "a", count: 140)
        #expect(exact.truncated(toScalars: 140) == exact)
        let emoji = String(repeating: "👍🏽", count: 100)
        #expect(emoji.truncated(toScalars: 140).unicodeScalars.count == 140)
    }

    @Test("Durations: 500ms 10s 5m 2h 30d and combinations; garbage rejected")
    func durations() {
        #expect(ConfigDuration(parsing: "500ms")?.milliseconds == 500)
        #expect(ConfigDuration(parsing: "10s")?.milliseconds == 10_000)
        #expect(ConfigDuration(parsing: "5m")?.milliseconds == 300_000)
        #expect(ConfigDuration(parsing: "2h")?.milliseconds == 7_200_000)
        #expect(ConfigDuration(parsing: "30d")?.milliseconds == 2_592_000_000)
        #expect(ConfigDuration(parsing: "1h30m")?.milliseconds == 5_400_000)
        for bad in ["", "10", "s", "10x", "-5s", "1.5h", "10 s"] { #expect(ConfigDuration(parsing: bad) == nil, "\(bad)") }
        #expect(ConfigDuration(milliseconds: 5_400_000).description == "1h30m")
    }

    @Test("Canonical JSON ignores key order and spacing")
    func canonical() throws {
        let a = try JSONValue.parse(Data(#"{"b":1,"a":{"y":"\u0026","x":[true,null]}}"#.utf8))
        let b = try JSONValue.parse(Data(#"{ "a" : { "x" : [ true , null ], "y" : "&" }, "b" : 1.0 }"#.utf8))
        #expect(a.canonicalText == b.canonicalText)
        #expect(a.canonicalText == #"{"a":{"x":[true,null],"y":"&"},"b":1}"#)
    }

    @Test("Replies have the contract's shape")
    func replies() throws {
        let outcome = UpdateOutcome(id: 7, status: .queued, state: .success, repo: "o/r", sha: "abcdef1234", pr: nil, context: "ci", attempts: 0, lastError: nil, linkedID: nil)
        let accepted = try JSONValue.parse(Data(PluginReply.accepted(outcome).jsonText.utf8))
        #expect(accepted["node"]?["phase"] == .string("Succeeded"))
        #expect(accepted["requeue"] == nil)
        #expect(accepted["node"]?["outputs"]?["parameters"] == .array([
            .object(["name": "update-id", "value": "7"]), .object(["name": "delivery", "value": "queued"]),
        ]))
        let waiting = try JSONValue.parse(Data(PluginReply.waiting(outcome).jsonText.utf8))
        #expect(waiting["node"]?["phase"] == .string("Running"))
        #expect(waiting["requeue"] == .string("10s"))
        let invalid = PluginReply.invalid(PluginBodyError("x is wrong"))
        #expect(invalid.jsonText == #"{"node":{"phase":"Failed","message":"statussync: x is wrong"}}"#)
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
