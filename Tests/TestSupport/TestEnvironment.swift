@_exported import CSV
import Foundation
import Logging
import PostgresNIO
import Storage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where the tests find the real things they run against, as `scripts/test` sets them up.
public enum TestEnvironment {
    static let environment = ProcessInfo.processInfo.environment

    /// The repository root (this file is Tests/TestSupport/TestEnvironment.swift).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The face photos (`FACEGATE_TEST_DATA`, else ../shared/faces beside the repository).
    public static let facesRoot =
        environment["FACEGATE_TEST_DATA"]
        ?? URL(fileURLWithPath: repositoryRoot).deletingLastPathComponent().appendingPathComponent("shared/faces").path
    public static var facesAvailable: Bool { FileManager.default.fileExists(atPath: facesRoot + "/manifest.csv") }
    public static let facesMissing = "face photos not found at \(facesRoot) (set FACEGATE_TEST_DATA); skipped"

    public static let modelsDirectory = environment["FACEGATE_MODELS_DIR"] ?? repositoryRoot + "/models"
    public static var modelsAvailable: Bool {
        FileManager.default.fileExists(atPath: modelsDirectory + "/dlib_face_recognition_resnet_model_v1.dat")
    }

    /// The test cluster `scripts/test` started. Suites and tests that need it carry `.requiresDatabase`, which skips
    /// them without it; reading it without the trait is a mistake in the test, named as such.
    public static var databaseURL: String {
        guard let url = environment["FACEGATE_TEST_DATABASE_URL"] else {
            fatalError("a test reads the test database without `.requiresDatabase`: \(databaseMissing)")
        }
        return url
    }
    public static var databaseAvailable: Bool { environment["FACEGATE_TEST_DATABASE_URL"] != nil }
    public static let databaseMissing =
        "no test database: FACEGATE_TEST_DATABASE_URL is not set (scripts/test starts one)"

    /// The `facegate` executable built next to the test bundle (the same build folder, whatever its scratch path).
    public static var facegateBinary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let sibling = testBinary.deletingLastPathComponent().appendingPathComponent("facegate").path
        return FileManager.default.isExecutableFile(atPath: sibling)
            ? sibling : repositoryRoot + "/.build/debug/facegate"
    }

    /// The scripts/pg helper, for tests that start and stop a cluster of their own.
    public static let pgScript = environment["FACEGATE_PG_SCRIPT"] ?? repositoryRoot + "/scripts/pg"

    public static func photo(_ relativePath: String) throws -> [UInt8] {
        let path = facesRoot + "/" + relativePath
        guard let data = FileManager.default.contents(atPath: path) else { throw MissingFile(path: path) }
        return [UInt8](data)
    }

    public struct MissingFile: Error { public let path: String }

    /// A database error with PostgreSQL's own words (postgres-nio's description hides them), so that a failing test
    /// says what happened.
    public struct DatabaseFailure: Error, CustomStringConvertible {
        public let step: String
        public let error: PSQLError
        public init(step: String, error: PSQLError) {
            self.step = step
            self.error = error
        }
        public var description: String { "\(step): \(String(reflecting: error))" }
    }
}

/// `body`, with a database error's PostgreSQL words in the test's failure (postgres-nio's description hides them).
public func describingDatabaseErrors<T>(_ step: String, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PSQLError {
        throw TestEnvironment.DatabaseFailure(step: step, error: error)
    }
}

/// A database of its own for one test: created empty from the test cluster, dropped afterwards.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "facegate.tests")
        logger.logLevel = .warning
        return logger
    }()

    public static func withFreshDatabase<T: Sendable>(
        _ body: @escaping @Sendable (_ url: String) async throws -> T
    ) async throws -> T {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let adminURL = TestEnvironment.databaseURL
        let admin = PostgresClient(
            configuration: try DatabaseURL.configuration(from: adminURL), backgroundLogger: logger)
        return try await withPostgresClient(admin) {
            do {
                try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            } catch let error as PSQLError {
                throw TestEnvironment.DatabaseFailure(step: "CREATE DATABASE", error: error)
            }
            do {
                let url = replacingDatabase(in: adminURL, with: String(name))
                let result = try await body(url)
                try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
                return result
            } catch {
                _ = try? await admin.query(
                    PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: logger)
                throw error
            }
        }
    }

    public static func replacingDatabase(in url: String, with database: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + database
        return components.string!
    }

    /// The stores' way to `client` in tests: a generous wait for a pooled connection, since `swift test` runs many
    /// suites at once on a small machine; the bounded wait itself is the subject of the outage tests.
    public static func database(_ client: PostgresClient) -> Database {
        Database(client: client, connectionWait: testConnectionWait)
    }

    public static let testConnectionWait: Duration = .seconds(30)

    /// The template keys of the tests' `BIOMETRIC_ENCRYPTION_KEY` (32 bytes of 7, as `testConfiguration` sets it), for
    /// stores a test makes beside the service.
    public static let templateKeys = TemplateKeys(key: [UInt8](repeating: 7, count: 32))

    /// Runs `body` with a running client for `url`.
    public static func withClient<T: Sendable>(
        _ url: String, _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: try DatabaseURL.configuration(from: url), backgroundLogger: logger)
        return try await withPostgresClient(client) { try await body(client) }
    }
}

/// A PostgreSQL cluster of the test's own (scripts/pg with its own data folder and port), for tests that stop and
/// start the database.
public struct PrivateCluster: Sendable {
    public let port: Int
    public let dataDirectory: String

    public init() {
        port = TestEnvironment.freePort()
        dataDirectory = NSTemporaryDirectory() + "facegate-pg-\(UUID().uuidString.prefix(8))"
    }

    public func start() async throws { try await run("start") }
    public func stop() async throws { try await run("stop") }
    public func url() async throws -> String { try await run("url").trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Stops the cluster and removes its files.
    public func destroy() async {
        _ = try? await run("stop")
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try? FileManager.default.removeItem(atPath: dataDirectory + ".password")
    }

    @discardableResult
    func run(_ command: String) async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["PG_PORT"] = String(port)
        environment["PG_DATA"] = dataDirectory
        let result = try await ChildProcess(TestEnvironment.pgScript, arguments: [command], environment: environment)
            .run()
        guard result.status == 0 else {
            throw ClusterError(command: command, status: result.status, output: result.standardError)
        }
        return result.standardOutput
    }

    struct ClusterError: Error {
        let command: String
        let status: Int32
        let output: String
    }
}

extension TestEnvironment {
    /// A port below the ephemeral range (32768-60999 on Linux, where an outgoing connection of any test may hold a
    /// random one) that nothing listens on now and that this process has not handed out before: a private cluster
    /// keeps it across its stops and starts, a webhook receiver across its outages, and a port handed out but not
    /// listened on yet (or never: a "down" endpoint) is not handed to a test running beside it.
    public static func freePort() -> Int {
        while true {
            let port = Int.random(in: 20_000...32_000)
            guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return port }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound == 0 { return port }
        }
    }

    private static let handedOut = Mutex<Set<Int>>([])
}
