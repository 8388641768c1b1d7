/// One schema migration from `migrations/NNNN_name.sql`, embedded at build time.
struct EmbeddedMigration: Sendable {
    let version: Int
    let name: String
    let sql: String
}
