import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Requeue failed or dead updates (attempts and the age clock reset; history kept).",
        discussion: """
            A running serve picks requeued updates up within 2 seconds. An ID that is not failed or dead \
            is reported on stderr and makes the exit status 1; the others are still requeued. An update \
            with a newer update for the same context is marked superseded instead of being sent again, \
            so a retry never moves a commit status backwards.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Update ids to requeue.") var ids: [Int64] = []
    @Flag(help: "Requeue every failed update.") var failed = false
    @Flag(help: "Requeue every dead update.") var dead = false

    func validate() throws {
        if ids.isEmpty && !failed && !dead { throw ValidationError("give update ids, or --failed, or --dead") }
        if !ids.isEmpty && (failed || dead) { throw ValidationError("give either update ids or --failed/--dead, not both") }
    }

    func run() async throws {
        let config = try global.loadConfig()
        let database = try AppDatabase.openForWriting(path: config.database, busyTimeout: config.busyTimeout.seconds, schema: .requireCurrent)
        let store = SQLiteStore(database: database)
        var results: [Int64: RequeueResult] = [:]
        if !ids.isEmpty { results = try await store.requeue(ids: ids) }
        if failed { results.merge(try await store.requeue(status: .failed)) { a, _ in a } }
        if dead { results.merge(try await store.requeue(status: .dead)) { a, _ in a } }
        var requeued = 0
        var problems = 0
        for id in results.keys.sorted() {
            switch results[id]! {
            case .requeued:
                requeued += 1
            case .superseded(let newer):
                print("update \(id): not requeued, update \(newer) is newer for the same context (marked superseded)")
            case .notRetryable(let status):
                problems += 1
                FileHandle.standardError.write(Data("update \(id) is \(status.rawValue), not failed or dead; not requeued\n".utf8))
            case .notFound:
                problems += 1
                FileHandle.standardError.write(Data("update \(id) does not exist\n".utf8))
            }
        }
        print("requeued \(requeued) update\(requeued == 1 ? "" : "s")")
        if problems > 0 { throw ExitCode(1) }
    }
}
