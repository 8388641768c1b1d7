import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database or bring its schema up to date (serve also does this at start)."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.loadConfig()
        let database = try AppDatabase.openForWriting(path: config.database, busyTimeout: config.busyTimeout.seconds, schema: .leave)
        let applied = try database.migrate()
        if applied.isEmpty {
            print("\(config.database): schema is current (version \(try database.schemaVersion()))")
        } else {
            for m in applied { print("applied \(String(format: "%04d", m.version))_\(m.name)") }
            print("\(config.database): schema version \(try database.schemaVersion())")
        }
    }
}
