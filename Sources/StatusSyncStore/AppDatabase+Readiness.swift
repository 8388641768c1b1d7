import GRDB

extension AppDatabase {
    /// Throws when the file at `path` is no longer the one the writer opened (deleted, renamed or
    /// replaced): a commit now would acknowledge writes that the next start cannot see.
    func checkFile() throws {
        guard let fileIdentity else { return }
        let change = fileIdentity.change(at: path)
        writeHealth.report(change)
        if let change {
            throw StoreError(.databaseFileChanged, "the database file \(path) was \(change.rawValue) while serve runs; nothing more is acknowledged into it (restore the file, or restart serve to start an empty database)")
        }
    }

    /// Why the database cannot take writes now (`/readyz`), or nil when it can: the file is the
    /// one opened, no recent commit failed for the disk's sake, the schema is current, and a
    /// probe write commits.
    public func readinessProblem() async -> String? {
        guard let pool else { return "the database is open read-only" }
        do {
            try checkFile()
        } catch {
            return "\(error)"
        }
        if let failure = writeHealth.recentDiskFailure {
            return "the last write could not commit: \(failure)"
        }
        do {
            let version = try await pool.write { db -> Int in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                try db.execute(sql: "PRAGMA user_version = \(version)")
                return version
            }
            return version == Self.latestVersion ? nil : "the database schema is at version \(version), not \(Self.latestVersion); run statussync migrate"
        } catch {
            return "the database is not writable: \(Self.describe(error))"
        }
    }
}

extension AppDatabase: CommitMonitor {
    func beforeCommit() throws { try checkFile() }
    func committed() { writeHealth.committed() }
    func failed(_ error: any Error) { writeHealth.failed(error) }
}
