import Logging
import PostgresNIO

/// What `/ready` needs to know about the database: reachable, pgvector installed, schema current.
public struct DatabaseStatus: Sendable, Equatable {
    public var pgvectorVersion: String?
    public var schemaVersion: Int

    public var schemaIsCurrent: Bool { schemaVersion == Migration.latestVersion }

    /// Queries the database, giving up after `timeout` (postgres-nio waits for a connection while the server is down).
    public static func probe(_ client: PostgresClient, timeout: Duration, logger: Logger) async throws -> DatabaseStatus
    {
        try await withTimeout(timeout, operation: "database probe") {
            var status = DatabaseStatus(pgvectorVersion: nil, schemaVersion: 0)
            var hasMigrationsTable = false
            let rows = try await client.query(
                """
                SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
                       to_regclass('schema_migrations') IS NOT NULL
                """, logger: logger)
            for try await (version, hasTable) in rows.decode((String?, Bool).self) {
                status.pgvectorVersion = version
                hasMigrationsTable = hasTable
            }
            if hasMigrationsTable {
                let versions = try await client.query(
                    "SELECT COALESCE(max(version), 0) FROM schema_migrations", logger: logger)
                for try await version in versions.decode(Int.self) { status.schemaVersion = version }
            }
            return status
        }
    }
}

/// Runs `body`, throwing `StorageError.timedOut` if it has not finished after `timeout` (at once, without waiting for
/// the abandoned body: `answerWithin`).
public func withTimeout<T: Sendable>(
    _ timeout: Duration, operation: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await answerWithin(timeout, orThrow: StorageError.timedOut(operation)) { _ in try await body() }
}
