import Logging
import PostgresNIO

/// Applies `Migration.all` in one transaction under a transaction-scoped advisory lock, so that several instances
/// starting at once apply each migration exactly once: the second waits for the lock, then finds nothing to do.
public struct Migrator: Sendable {
    /// Arbitrary constant shared by every facegate instance ("facegate" in ASCII).
    static let advisoryLockKey: Int64 = 0x6661_6365_6761_7465

    let migrations: [Migration]

    public init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations
    }

    /// Applies what is missing and returns the versions it applied (empty when the schema was current).
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
                .decode(Int.self) { applied.insert(version) }
            if let newest = applied.max(), newest > (migrations.last?.version ?? 0) {
                throw StorageError.schemaNewerThanCode(database: newest, code: migrations.last?.version ?? 0)
            }
            var done: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
                done.append(migration.version)
            }
            return done
        }
    }
}
