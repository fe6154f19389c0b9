import ArgumentParser
import FaceGateRuntime
import Foundation
import Logging
import PostgresNIO
import Storage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending database migrations (the server also does this at start).")

    func run() async throws {
        let url: String
        do {
            url = try AppConfiguration.databaseURL(environment: try EnvironmentFile.layeredEnvironment())
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("facegate: \(error.description)\n".utf8))
            throw ExitCode(78)
        }
        let logger = Logger(label: "facegate.migrate")
        try await DatabaseURL.checkConnection(url, logger: logger)
        let client = PostgresClient(configuration: try DatabaseURL.configuration(from: url), backgroundLogger: logger)
        let applied = try await withPostgresClient(client) {
            try await Migrator().migrate(client, logger: logger)
        }
        print(
            applied.isEmpty
                ? "schema is current (version \(Migration.latestVersion))"
                : "applied migrations \(applied.map(String.init).joined(separator: ", "))")
    }
}
