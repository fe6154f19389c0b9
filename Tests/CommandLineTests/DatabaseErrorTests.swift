import Foundation
import TestSupport
import Testing

/// The CLI's database failures are printed in PostgreSQL's own words, not postgres-nio's generic sentence.
@Suite("facegate and database errors", .requiresDatabase)
struct DatabaseErrorTests {
    @Test("migrate against a database that does not exist prints PostgreSQL's code and message")
    func missingDatabase() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = TestDatabase.replacingDatabase(
            in: TestEnvironment.databaseURL, with: "no_such_database_\(UInt32.random(in: 0...UInt32.max))")
        let result = try await ChildProcess(
            TestEnvironment.facegateBinary, arguments: ["migrate"], environment: environment,
            currentDirectory: NSTemporaryDirectory(), timeLimit: .seconds(120)
        ).run()
        #expect(result.status == 1)
        #expect(result.standardError.contains("database error: FATAL 3D000"), "\(result.standardError)")
        #expect(result.standardError.contains("does not exist"), "\(result.standardError)")
        #expect(!result.standardError.contains("Generic description"), "\(result.standardError)")
    }
}
