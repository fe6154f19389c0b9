import ArgumentParser
import FaceGateAPI
import FaceGateRuntime
import Foundation
import Hummingbird
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Apply migrations, then serve the HTTP API on HOST:PORT.")

    func run() async throws {
        let configuration = try loadConfiguration()
        let app = try await buildApplication(configuration)
        var logger = Logger(label: "facegate")
        logger.logLevel = configuration.server.logLevel
        try await runUntilStopped(app, shutdownTimeout: configuration.server.shutdownTimeout, logger: logger)
    }
}

/// Reads the layered environment (process, `.env`, `.local/dev.env`) and validates it, printing every problem.
func loadConfiguration() throws -> AppConfiguration {
    do {
        return try AppConfiguration(environment: try EnvironmentFile.layeredEnvironment())
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("facegate: \(error.description)\n".utf8))
        throw ExitCode(78)  // EX_CONFIG
    }
}
