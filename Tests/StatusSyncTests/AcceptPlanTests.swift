import Foundation
import GRDB
import Testing
@testable import StatusSyncCore
@testable import StatusSyncStore

/// The accept transaction runs on the single writer for every call, so each of its statements
/// must find its rows through an index, in index order (no sort): schema 6 removed
/// updates_workflow, and one scan of the subject's index range answers repeat, stale and duplicate. And the stale rule still holds on pull requests, before and after pinning.
@Suite("Store: the accept path's statements and the stale check on pull requests")
struct AcceptPlanTests {
    static let statements: [(String, String)] = [
        ("pinned head", AcceptSQL.pinnedHead),
        ("call by key", AcceptSQL.callByKey),
        ("repeat count", AcceptSQL.countRepeat),
        ("subject scan (sha)", AcceptSQL.subjectScan(pinned: true)),
        ("subject scan (pr)", AcceptSQL.subjectScan(pinned: false)),
        ("final update by pr", AcceptSQL.finalOfWorkflowByPR),
        ("supersede", AcceptSQL.supersede),
    ]

    @Test("Every lookup of the accept transaction searches an index; none scans a table")
    func noTableScans() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let plans = try await store.database.writer.read { db in
            try Self.statements.map { name, sql in
                (name, try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(Array(repeating: DatabaseValue.null, count: sql.filter { $0 == "?" }.count)))
                    .map { $0["detail"] as String })
            }
        }
        #expect(try store.database.schemaVersion() == 12)
        for (name, details) in plans {
            #expect(!details.isEmpty, "\(name): no plan")
            for detail in details {
                #expect(detail.hasPrefix("SEARCH"), "\(name): \(detail)")
            }
        }
        let byName = Dictionary(uniqueKeysWithValues: plans)
        #expect(byName["subject scan (sha)"]?.joined().contains("updates_subject") == true)
        #expect(byName["subject scan (pr)"]?.joined().contains("updates_pr_subject") == true)
        #expect(byName["subject scan (sha)"]?.joined().contains("calls_update") == true)
        #expect(byName["final update by pr"]?.joined().contains("updates_pr_subject") == true)
    }

    @Test("No statement of the accept path, and no change of a status or state, builds a temporary b-tree")
    func noTemporaryBTrees() async throws {
        // SQLite evaluates `x IN (<3+ constants>)` by building a temporary b-tree of the list for
        // every run of the statement (in a CHECK constraint: of every insert and update); schema 7
        // and the accept SQL write those tests as OR comparisons.
        let programs: [(String, String)] = Self.statements + [
            ("insert update", AcceptSQL.insertUpdate),
            ("insert call", AcceptSQL.insertCall),
            ("any status change", "UPDATE updates SET status = ? WHERE id = ?"),
            ("any state change", "UPDATE updates SET state = ? WHERE id = ?"),
        ]
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        @Sendable func opcodes(_ sql: String, _ db: Database) throws -> String {
            let nulls = StatementArguments(Array(repeating: DatabaseValue.null, count: sql.filter { $0 == "?" }.count))
            return try Row.fetchAll(db, sql: "EXPLAIN " + sql, arguments: nulls).map { $0["opcode"] as String }.joined(separator: " ")
        }
        let (compiled, control) = try await store.database.writer.read { db in
            (try programs.map { name, sql in (name, try opcodes(sql, db)) },
             try opcodes("SELECT id FROM updates WHERE status IN ('queued', 'delivering', 'delivered')", db))
        }
        // The check can fail: an IN list of three constants does open a temporary b-tree.
        #expect(control.contains("OpenEphemeral"), "\(control)")
        for (name, opcodes) in compiled {
            #expect(opcodes.contains("OpenRead") || opcodes.contains("OpenWrite"), "\(name): no table opened: \(opcodes)")
            #expect(!opcodes.contains("OpenEphemeral"), "\(name) opens a temporary b-tree")
        }
    }

    @Test("Stale on a pull request: a final state before the head is pinned, or after, makes later running statuses of the workflow stale")
    func staleOnPullRequest() async throws {
        let dir = try TempDirectory()
        let store = try SQLiteStore.temporary(in: dir)
        let w1 = WorkflowRef(namespace: "ci", name: "w1", uid: "uid-1")
        let pr = ["repo": "my-org/app", "pr": "12", "context": "ci/argo"]
        // Final state recorded on the PR while its head is not pinned yet.
        let final = try await store.accept(CallFactory.call(pr.merging(["state": "Failed"]) { $1 }, workflow: w1, template: "exit"))
        #expect(final.outcome == .accepted(.queued))
        let late = try await store.accept(CallFactory.call(pr.merging(["state": "Running"]) { $1 }, workflow: w1, template: "started"))
        #expect(late.outcome == .accepted(.stale))
        #expect(try await store.detail(id: late.updateID!)?.update.delivery.linkedUpdateId == final.updateID)

        // Pin the head: later calls of w1 are on the sha, and the final update (now on the sha) still counts.
        let head = "2222222222222222222222222222222222222222"
        let claimed = try await store.claimDue(limit: 5).jobs
        #expect(claimed.map(\.id) == [final.updateID!])
        guard case .send = try await store.pin(claimed[0], head: PullRequestHead(sha: head, sourceBranch: nil), attempt: nil) else {
            Issue.record("expected the pinned update to be sent"); return
        }
        let later = try await store.accept(CallFactory.call(pr.merging(["state": "Pending"]) { $1 }, workflow: w1, template: "retry"))
        #expect(later.outcome == .accepted(.stale))
        #expect(try await store.detail(id: later.updateID!)?.update.sha == head)

        // The same sha given directly by w1 is stale too; another workflow's running status is not.
        let bySHA = try await store.accept(CallFactory.call(["repo": "my-org/app", "sha": head, "context": "ci/argo", "state": "Running"], workflow: w1, template: "by-sha"))
        #expect(bySHA.outcome == .accepted(.stale))
        let w2 = WorkflowRef(namespace: "ci", name: "w2", uid: "uid-2")
        let other = try await store.accept(CallFactory.call(["repo": "my-org/app", "sha": head, "context": "ci/argo", "state": "Running"], workflow: w2))
        #expect(other.outcome == .accepted(.queued))
    }
}
