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

    /// Only the clock answers `timedOut`: the pool, which never connects, would keep the callers waiting or fail
    /// them with errors of its own. (No bound on the time here: on a loaded machine the clock's tasks themselves may
    /// wait for a thread; the outage tests of Tests/system measure the answer times.)
    @Test("every one of 50 concurrent callers gets timedOut from the clock when no connection can be made")
    func concurrentCallersAnsweredByTheClock() async throws {
        try await Self.withUnreachableDatabase(wait: .milliseconds(300)) { database in
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        do {
                            try await database.query("SELECT 1", logger: TestDatabase.logger)
                            return "answered"
                        } catch let error as StorageError {
                            return error == .timedOut("waiting for a database connection") ? "timedOut" : "\(error)"
                        } catch {
                            return "\(type(of: error)): \(error)"
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.count == 50 && outcomes.allSatisfy { $0 == "timedOut" }, "\(Set(outcomes))")
        }
    }

    @Test("a caller cancelled while waiting for a connection returns at once, without waiting out the clock")
    func cancelledCallerReturns() async throws {
        // The clock's wait is far longer than any scheduling delay, so an answer before it can only be the
        // cancellation's.
        try await Self.withUnreachableDatabase(wait: .seconds(300)) { database in
            let clock = ContinuousClock()
            let started = clock.now
            let call = Task { try await database.query("SELECT 1", logger: TestDatabase.logger) }
            try await Task.sleep(for: .milliseconds(200))
            call.cancel()
            let result = await call.result
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(clock.now - started < .seconds(150))
        }
    }
}
