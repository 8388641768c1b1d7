import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List status updates, newest first.",
        discussion: "Reads the database read-only; safe while serve runs. Answers \"why is my PR still pending?\": look at DELIVERY and LAST ERROR, then `statussync show ID`."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this repository (owner/name).") var repo: String?
    @Option(help: "Only this commit (a prefix works).") var sha: String?
    @Option(help: "Only this status context.") var context: String?
    @Option(help: "Only this workflow name.") var workflow: String?
    @Option(help: "Only this workflow namespace.") var namespace: String?
    @Option(help: "Only this neutral state: pending, running, success, failure, error, cancelled, skipped.") var state: NeutralState?
    @Option(help: "Only this delivery status: queued, delivering, delivered, duplicate, superseded, stale, failed, dead.") var delivery: DeliveryStatus?
    @Option(help: "Only updates created within this duration, e.g. 2h or 30m.") var since: ConfigDuration?
    @Option(help: "At most this many rows.") var limit: Int = 50
    @Flag(help: "Print a JSON array instead of a table.") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let (_, store) = try global.openReadOnly()
        var filter = HistoryFilter()
        filter.repo = repo
        filter.sha = sha
        filter.context = context
        filter.workflow = workflow
        filter.namespace = namespace
        filter.state = state
        filter.delivery = delivery
        filter.since = since.map { Date().addingTimeInterval(-$0.seconds) }
        filter.limit = limit
        let updates = try await store.history(filter)
        if json { return try JSONOutput.print(updates) }
        print(UpdateTable.render(updates))
    }
}

/// The table `history` and `backlog` print.
enum UpdateTable {
    static func render(_ updates: [UpdateView]) -> String {
        guard !updates.isEmpty else { return "no updates match" }
        var table = TextTable(["ID", "CREATED", "DELIVERY", "STATE", "REPO", "TARGET", "CONTEXT", "WORKFLOW", "ATTEMPTS", "LAST ERROR"])
        for u in updates {
            let target = u.sha.map { String($0.prefix(12)) } ?? u.pr.map { "#\($0)" } ?? "-"
            var delivery = u.delivery.status.rawValue
            if let linked = u.delivery.linkedUpdateId { delivery += " (\(linked))" }
            table.add([
                String(u.id), String(u.createdAt.prefix(19)).replacingOccurrences(of: "T", with: " "), delivery, u.state.rawValue,
                u.repo, target, u.context, "\(u.workflow.namespace)/\(u.workflow.name)", String(u.delivery.attempts),
                u.delivery.lastError.map { $0.excerpt(60) } ?? "",
            ])
        }
        return table.render()
    }
}
