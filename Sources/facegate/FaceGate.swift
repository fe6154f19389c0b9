import ArgumentParser
import Foundation
import PostgresNIO
import Storage

@main
struct FaceGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facegate",
        abstract: "Self-hosted face matching: registration, 1:N check-in and benchmarks.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, EvalCommand.self, BenchCommand.self, KeysCommand.self,
            FacesCommand.self, ImportCommand.self, ExportCommand.self,
        ])

    /// ArgumentParser's entry point, except that a database failure is printed with PostgreSQL's own code and message
    /// (postgres-nio's description of an error is a generic sentence, to keep details out of logs by default; an
    /// operator at a terminal needs them).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error where databaseErrorDescription(error) != nil {
            let description = databaseErrorDescription(error, withValues: true)!
            FileHandle.standardError.write(Data("facegate: database error: \(description)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
