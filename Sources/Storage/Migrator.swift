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

    /// Applies what is missing and returns the versions it applied (empty when the schema was current), then brings
    /// pgvector to the version the server has installed (`updatePgvector`).
    @discardableResult
    public func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        let applied = try await applyMigrations(client, logger: logger)
        try await Self.updatePgvector(client, logger: logger)
        return applied
    }

    /// `ALTER EXTENSION vector UPDATE` when the database's pgvector is older than the library the server loads (a
    /// cluster created before its binaries were upgraded), so that `/ready` reports what actually runs. An account
    /// that may not alter the extension (an external database whose superuser created it) gets a warning, not a
    /// failed start: the old SQL definitions keep working with the newer library.
    static func updatePgvector(_ client: PostgresClient, logger: Logger) async throws {
        do {
            try await client.transaction(logger: logger) { connection in
                try await connection.query(Database.offRequestPath, logger: logger)
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockKey))", logger: logger)
                let rows = try await connection.query(
                    """
                    SELECT e.extversion, a.default_version FROM pg_extension e
                    JOIN pg_available_extensions a ON a.name = e.extname WHERE e.extname = 'vector'
                    """, logger: logger
                ).collect()
                guard let (installed, available) = try rows.firstRow((String, String).self), installed != available
                else { return }
                try await connection.query("ALTER EXTENSION vector UPDATE", logger: logger)
                logger.notice("pgvector updated", metadata: ["from": "\(installed)", "to": "\(available)"])
            }
        } catch let refusal as PSQLError
            where refusal.serverInfo?[.sqlState] == PostgresError.Code.insufficientPrivilege.raw
        {
            logger.warning(
                "pgvector is older than the library the server has installed and this account may not update it: run ALTER EXTENSION vector UPDATE as the extension's owner",
                metadata: ["error": "\(String(reflecting: refusal))"])
        }
    }

    private func applyMigrations(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.transaction(logger: logger) { connection in
            try await connection.query(Database.offRequestPath, logger: logger)
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
                .decode(Int.self)
            { applied.insert(version) }
            if let newest = applied.max(), newest > (migrations.last?.version ?? 0) {
                throw StorageError.schemaNewerThanCode(database: newest, code: migrations.last?.version ?? 0)
            }
            var done: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                logger.info(
                    "applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
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
