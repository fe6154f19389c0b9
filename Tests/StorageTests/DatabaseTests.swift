import Foundation
import PostgresNIO
import Storage
import TestSupport
import Testing

/// `Database`'s bound on the wait for a connection, against a server that is not there (a loopback port nobody
/// listens on): the pool keeps trying to connect for as long as it runs, and every caller must still be answered.
@Suite("Database connection wait")
struct DatabaseTests {
    /// A loopback port with no server: bound, then closed again.
    static func deadPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(socket, raw, length) == 0, getsockname(socket, raw, &length) == 0 else {
                    throw POSIXError(.EADDRINUSE)
                }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func withUnreachableDatabase(wait: Duration, _ body: @escaping @Sendable (Database) async throws -> Void)
        async throws
    {
        let url = "postgres://nobody:nothing@127.0.0.1:\(try deadPort())/none"
        try await TestDatabase.withClient(url) { client in
            try await body(Database(client: client, connectionWait: wait))
        }
    }

    @Test("every one of 50 concurrent callers gets timedOut within the wait when no connection can be made")
    func concurrentCallersAnsweredWithinTheWait() async throws {
        try await Self.withUnreachableDatabase(wait: .milliseconds(300)) { database in
            let clock = ContinuousClock()
            let started = clock.now
            let outcomes = try await withThrowingTaskGroup(of: (String, Duration).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        do {
                            try await database.query("SELECT 1", logger: TestDatabase.logger)
                            return ("answered", clock.now - started)
                        } catch let error as StorageError {
                            return (error == .timedOut("waiting for a database connection") ? "timedOut" : "\(error)",
                                    clock.now - started)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0.0 == "timedOut" }, "\(Set(outcomes.map(\.0)))")
            // Generous for a loaded machine: the point is that nobody waits for the pool, which never connects.
            #expect(outcomes.map(\.1).max()! < .seconds(10))
        }
    }

    @Test("a caller cancelled while waiting for a connection returns at once, without waiting out the clock")
    func cancelledCallerReturns() async throws {
        try await Self.withUnreachableDatabase(wait: .seconds(60)) { database in
            let clock = ContinuousClock()
            let started = clock.now
            let call = Task { try await database.query("SELECT 1", logger: TestDatabase.logger) }
            try await Task.sleep(for: .milliseconds(200))
            call.cancel()
            let result = await call.result
            #expect(throws: (any Error).self) { try result.get() }
            #expect(clock.now - started < .seconds(30))
        }
    }
}
