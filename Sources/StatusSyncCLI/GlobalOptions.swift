import ArgumentParser
import Foundation
import StatusSyncCore
import StatusSyncProviders
import StatusSyncStore

/// `--config` and `--database`, accepted by every subcommand.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML configuration file (default: $STATUSSYNC_CONFIG, else the embedded defaults).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("SQLite database file; overrides `database:` of the config.", valueName: "path"))
    var database: String?

    func loadConfig() throws -> AppConfig {
        var config = try AppConfig.load(path: self.config, catalog: ProviderRegistry.catalog)
        if let database { config.database = database }
        return config
    }

    /// The database opened read-only, for the read commands.
    func openReadOnly() throws -> (AppConfig, SQLiteStore) {
        let config = try loadConfig()
        let database = try AppDatabase.openReadOnly(path: config.database, busyTimeout: config.busyTimeout.seconds)
        return (config, SQLiteStore(database: database))
    }
}

extension ConfigDuration: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

extension NeutralState: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension DeliveryStatus: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Writes JSON the way every `--json` prints it: pretty, camelCase keys in contract order.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
