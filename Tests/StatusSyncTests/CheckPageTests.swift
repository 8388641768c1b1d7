import Foundation
import Testing
@testable import StatusSyncCore
@testable import StatusSyncDelivery
@testable import StatusSyncProviders
@testable import StatusSyncStore

@Suite("Check run page: summary, failed steps and GitHub's size limits (docs/design.md#check-run-page)")
struct CheckPageTests {
    /// `{{workflow.failures}}` exactly as the agent delivered it in the exit-hook fixture: a JSON
    /// string whose text is itself a quoted JSON list.
    static func fixtureFailures() throws -> String {
        let args = try JSONValue.parse(try TestPaths.argoFixture("01-exit-hook-status.request.json"))
        return try #require(args["template"]?["plugin"]?["statusReporter"]?["failures"]?.stringValue)
    }

    static func failures(_ value: JSONValue?) throws(PluginBodyError) -> [FailedStep]? {
        try FailedStep.parseList(value)
    }

    @Test("failures in every encoding Argo produces: double-encoded (the fixture), a plain list, a list value; \"null\", null, empty and the placeholder mean none")
    func encodings() throws {
        let fixture = try Self.fixtureFailures()
        #expect(fixture.hasPrefix("\"[{"))
        let steps = try #require(try Self.failures(.string(fixture)))
        #expect(steps == [
            FailedStep(step: "ci-build-x7k2p", template: "main", phase: "Failed", message: "child 'ci-build-x7k2p-2144262341' failed"),
            FailedStep(step: "unit-tests", template: "run-tests", phase: "Failed", message: "Error (exit code 1)"),
        ])
        // Decoded once (as a plain JSON text) and given as a list value: the same rows.
        let once = try #require(try JSONValue.parse(Data(fixture.utf8)).stringValue)
        #expect(try Self.failures(.string(once)) == steps)
        #expect(try Self.failures(try JSONValue.parse(Data(once.utf8))) == steps)

        let before = try JSONValue.parse(try TestPaths.argoFixture("02-hook-expression-true-started.request.json"))
        let quotedNull = try #require(before["template"]?["plugin"]?["statusReporter"]?["failures"])
        #expect(quotedNull == .string("\"null\""))
        for none: JSONValue? in [quotedNull, .string("null"), .null, nil, .string(""), .string("  "), .string("{{workflow.failures}}"), .string("[]"), .string("\"[]\"")] {
            #expect(try Self.failures(none) == nil, "\(String(describing: none))")
        }
    }

    @Test("failures that are not a list of objects make the call invalid, naming the field; a failures call is otherwise an ordinary call")
    func invalidFailures() throws {
        for bad in ["not json", "{\"displayName\":\"x\"}", "[1,2]", "\"[\\\"a\\\"]\"", "42", "[{\"displayName\":\"x\"}"] {
            #expect(throws: PluginBodyError.self, "\(bad)") { try Self.failures(.string(bad)) }
            do {
                _ = try Self.failures(.string(bad))
            } catch {
                #expect(error.message.hasPrefix("failures"), "\(error.message)")
                #expect(error.message.contains("{{workflow.failures}}"), "\(error.message)")
            }
        }
        #expect(throws: PluginBodyError.self) { try Self.failures(.number(3)) }
        // Through the validator: a Failed node naming the field; the same body with Argo's text is valid.
        let rules = CheckRunTests.rules
        let workflow = CheckRunTests.workflowA
        func parse(_ extra: [String: String]) throws(PluginBodyError) -> StatusRequest {
            try StatusRequest.parse(body: .object(CallFactory.status("Failed", extra: extra).mapValues(JSONValue.string)), workflow: workflow, rules: rules)
        }
        #expect(throws: PluginBodyError.self) { try parse(["failures": "oops"]) }
        let ok = try parse(["failures": try Self.fixtureFailures(), "summary": "  **Tests** failed  "])
        #expect(ok.page.failures?.count == 2)
        #expect(ok.page.summary == "**Tests** failed")
        #expect(throws: PluginBodyError.self) { try parse(["summary": "a\u{0}b"]) }
    }

    @Test("The failed-steps table: step, template, phase, message; cells on one line with | escaped; at most 50 rows, then … and N more")
    func table() {
        let steps = (1...62).map { i in
            FailedStep(step: "step-\(i)", template: "t|\(i)", phase: "Failed", message: i == 1 ? "line one\nline two | pipe" : "exit code \(i)")
        }
        let page = CheckRunPage.summary(header: "Workflow `ci/x`: **failure**", input: CheckPageInput(summary: "Author **text**", failures: steps))
        let lines = page.components(separatedBy: "\n")
        #expect(lines.first == "Workflow `ci/x`: **failure**")
        #expect(page.contains("\n\nAuthor **text**\n\n### Failed steps\n\n| Step | Template | Phase | Message |\n| --- | --- | --- | --- |\n"))
        #expect(lines.filter { $0.hasPrefix("| step-") }.count == 50)
        #expect(lines.contains("| step-1 | t\\|1 | Failed | line one<br>line two \\| pipe |"))
        #expect(lines.contains("| step-50 | t\\|50 | Failed | exit code 50 |"))
        #expect(!page.contains("step-51"))
        #expect(lines.last == "… and 12 more")
    }

    @Test("Summaries are cut to 65,535 characters and 65,535 UTF-8 bytes, with a last line saying how much was cut; short ones are kept whole")
    func limits() {
        #expect(CheckRunPage.fitted("short") == "short")
        let exact = String(repeating: "a", count: 65_535)
        #expect(CheckRunPage.fitted(exact) == exact)
        for (unit, count) in [("a", 70_000), ("é", 40_000), ("😀", 20_000), ("👩‍👩‍👧", 9_000)] {
            let text = String(repeating: unit, count: count)
            let fitted = CheckRunPage.fitted(text)
            #expect(fitted.utf8.count <= 65_535, "\(unit)")
            #expect(fitted.unicodeScalars.count <= 65_535 && fitted.utf16.count <= 65_535, "\(unit)")
            let kept = fitted.components(separatedBy: "\n\n").first ?? ""
            #expect(kept.allSatisfy { String($0) == unit }, "cut inside a character: \(unit)")
            #expect(fitted.hasSuffix("*… \(count - kept.count) more characters cut: GitHub shows at most 65,535.*"), "\(unit)")
            // Nothing more was cut than needed: one more character would not have fit.
            #expect(fitted.utf8.count + unit.utf8.count > 65_535 - 60, "\(unit): \(fitted.utf8.count)")
        }
    }

    @Test("Delivered: an exit hook's failures (the fixture's double encoding) and a 100,000-character summary become a page GitHub takes (no 422)")
    func deliveredPage() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let huge = String(repeating: "Ünïcödé log line\n", count: 6_000)
        try await FakeGitHub.run { fake in
            try await CheckRunTests.withDelivery(store, fake) { delivery, _ in
                let id = try await CheckRunTests.accepted(store, CheckRunTests.call("Failed", extra: [
                    "failures": try Self.fixtureFailures(), "summary": huge, "targetURL": "https://argo.example.com/workflows/ci/build-a",
                ]), delivery)
                #expect(try await eventually { try await CheckRunTests.delivered(store, id) })
            }
            #expect(fake.schemaViolations.isEmpty, "\(fake.schemaViolations)")
            let run = try #require(fake.checkRuns.first)
            let summary = try #require(run.summary)
            #expect(run.conclusion == "failure")
            #expect(summary.hasPrefix("Workflow [ci/build-a](https://argo.example.com/workflows/ci/build-a): **failure**"))
            #expect(summary.utf8.count <= 65_535)
            #expect(summary.hasSuffix("more characters cut: GitHub shows at most 65,535.*"))
            // Author text first, then the table; the cut fell in the author's text, so the table is gone.
            #expect(summary.contains("Ünïcödé log line"))
        }
        // A page that fits keeps the whole table after the author's text.
        let dir2 = try TempDirectory()
        let store2 = try SQLiteStore.temporary(in: dir2)
        try await FakeGitHub.run { fake in
            try await CheckRunTests.withDelivery(store2, fake) { delivery, _ in
                let id = try await CheckRunTests.accepted(store2, CheckRunTests.call("Failed", extra: [
                    "failures": try Self.fixtureFailures(), "summary": "See the **unit tests**.",
                ]), delivery)
                #expect(try await eventually { try await CheckRunTests.delivered(store2, id) })
            }
            let summary = try #require(fake.checkRuns.first?.summary)
            #expect(summary.contains("\n\nSee the **unit tests**.\n\n### Failed steps\n"))
            #expect(summary.contains("| unit-tests | run-tests | Failed | Error (exit code 1) |"))
            #expect(summary.contains("| ci-build-x7k2p | main | Failed | child 'ci-build-x7k2p-2144262341' failed |"))
        }
    }
}
