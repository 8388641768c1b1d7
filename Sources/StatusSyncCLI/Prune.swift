import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete finished history older than a duration (serve also does this hourly, per `retention`).",
        discussion: """
            Removes updates in every state but queued and delivering, with their attempts and calls, and \
            calls that back no update. Works in small transactions, so it is safe while serve runs.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "Remove what is older than this, e.g. 30d or 12h (default: `retention` of the config, 30d).")
    var olderThan: ConfigDuration?

    func run() async throws {
        let config = try global.loadConfig()
        let age = olderThan ?? config.retention
        let database = try AppDatabase.openForWriting(path: config.database, busyTimeout: config.busyTimeout.seconds, schema: .requireCurrent)
        let store = SQLiteStore(database: database)
        let result = try await store.prune(before: Date().addingTimeInterval(-age.seconds)) { progress in
            FileHandle.standardError.write(Data("pruning: \(progress.updates) updates so far\n".utf8))
        }
        print("pruned \(result.updates) updates, \(result.calls) calls, \(result.attempts) attempts, \(result.pinnedHeads) pinned PR heads older than \(age)")
    }
}
