import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List recorded plugin calls (the ExecuteTemplateArgs as received) with their reply or error.",
        discussion: "Use --rejected to see calls whose plugin body was invalid and why. Safe while serve runs."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this workflow name.") var workflow: String?
    @Option(help: "Only this workflow namespace.") var namespace: String?
    @Flag(help: "Only calls that were rejected (invalid body, reused key).") var rejected = false
    @Option(help: "Only calls received within this duration, e.g. 2h.") var since: ConfigDuration?
    @Option(help: "At most this many rows.") var limit: Int = 50
    @Flag(help: "Print a JSON array instead of a table.") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let (_, store) = try global.openReadOnly()
        var filter = CallsFilter()
        filter.workflow = workflow
        filter.namespace = namespace
        filter.rejectedOnly = rejected
        filter.since = since.map { Date().addingTimeInterval(-$0.seconds) }
        filter.limit = limit
        let calls = try await store.calls(filter)
        if json { return try JSONOutput.print(calls) }
        guard !calls.isEmpty else { return print("no calls match") }
        var table = TextTable(["ID", "RECEIVED", "WORKFLOW", "TEMPLATE", "UPDATE", "REPEATS", "RESULT"])
        for c in calls {
            let result = c.error.map { "rejected: \($0)" } ?? (c.reply?["node"]?["message"]?.stringValue ?? "")
            table.add([
                String(c.id), String(c.receivedAt.prefix(19)).replacingOccurrences(of: "T", with: " "),
                "\(c.workflow.namespace)/\(c.workflow.name)", c.template, c.updateId.map(String.init) ?? "-",
                String(c.repeats), result.excerpt(90),
            ])
        }
        print(table.render())
    }
}
