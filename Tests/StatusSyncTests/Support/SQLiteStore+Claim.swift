import GRDB
@testable import StatusSyncCore
@testable import StatusSyncStore

extension SQLiteStore {
    /// A claim with no budget limit on any provider that has updates (store tests that are not
    /// about pacing).
    func claimDue(limit: Int, maxDeferral: ConfigDuration = .seconds(300)) async throws -> ClaimBatch {
        let providers = try await database.reader.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT provider FROM updates ORDER BY provider") }
        return try await claimDue(limit: limit, budgets: providers.map { ClaimBudget(provider: $0, calls: nil) }, maxDeferral: maxDeferral)
    }
}
