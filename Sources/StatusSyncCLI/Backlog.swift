import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct Backlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List updates still to be delivered (queued or delivering), with their next attempt and last error.",
        discussion: "Opens with a line per provider: how many updates wait, the oldest one's age, and the time to send them all at the provider's pacing. Safe while serve runs. An empty backlog means every accepted update reached a final state."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print a JSON array instead of a table.") var json = false

    func run() async throws {
        let (config, store) = try global.openReadOnly()
        let updates = try await store.backlog()
        if json { return try JSONOutput.print(updates) }
        guard !updates.isEmpty else { return print("backlog is empty") }
        let now = Date()
        for backlog in try await store.backlogSummary() {
            let pacing = config.providers.first { $0.name == backlog.provider }?.pacing
            print(backlog.summaryLine(pacing: pacing, pausedFor: nil, now: now).escapingControlCharacters)
        }
        print("")
        var table = TextTable(["ID", "DELIVERY", "STATE", "REPO", "TARGET", "CONTEXT", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"])
        for u in updates {
            table.add([
                String(u.id), u.delivery.status.rawValue, u.state.rawValue, u.repo,
                u.sha.map { String($0.prefix(12)) } ?? u.pr.map { "#\($0)" } ?? "-", u.context, String(u.delivery.attempts),
                u.delivery.nextAttemptAt.map { String($0.prefix(19)).replacingOccurrences(of: "T", with: " ") } ?? "now",
                u.delivery.lastError.map { $0.excerpt(60) } ?? "",
            ])
        }
        print(table.render())
    }
}
