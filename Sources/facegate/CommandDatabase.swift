import FaceGateRuntime
import Logging
import PostgresNIO
import Storage

/// The configured database as every command that works on it opens it: the connection tried first (a clear message
/// when it is refused), a client of at most four connections running for `body`, pending migrations applied; only
/// warnings logged (`label`).
func withMigratedDatabase<T: Sendable>(
    _ configuration: AppConfiguration, label: String,
    _ body: @escaping @Sendable (Database, Logger) async throws -> T
) async throws -> T {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    try await DatabaseURL.checkConnection(configuration.database.url, logger: logger)
    var postgres = try DatabaseURL.configuration(from: configuration.database.url)
    // A command runs a few statements at a time (an import: one per photo being examined, and the one storing): a
    // small pool leaves the server's connections to the running service.
    postgres.options.maximumConnections = 4
    let client = PostgresClient(configuration: postgres, backgroundLogger: logger)
    return try await withPostgresClient(client) { [logger] in
        try await Migrator().migrate(client, logger: logger)
        return try await body(Database(client: client), logger)
    }
}
