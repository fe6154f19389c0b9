import PostgresNIO
import Synchronization

/// Thrown when what `withShutdownBound` ran finished its work but did not shut down within the bound.
public struct ShutdownTimedOut: Error, CustomStringConvertible {
    public let what: String
    public let bound: Duration
    public var description: String { "\(what) did not shut down within \(bound); abandoned" }
}

/// Runs `body`, which calls `workDone()` once its own work is over and then waits for what it started (a client, a
/// service group) to shut down. If that shutdown has not finished `bound` after `workDone()`, the caller gets
/// `ShutdownTimedOut` at once and the rest is abandoned, never waited for: a dependency that never returns (postgres-nio
/// waiting for a query on a closed connection) can fail a command or a test, but cannot hang it.
public func withShutdownBound<Result: Sendable>(
    _ bound: Duration, of what: String,
    _ body: @escaping @Sendable (_ workDone: @escaping @Sendable () -> Void) async throws -> Result
) async throws -> Result {
    let answer = Answer<Result>()
    let done = Mutex<Task<Void, Never>?>(nil)
    let work = Task {
        let startClock: @Sendable () -> Void = {
            done.withLock { clock in
                guard clock == nil else { return }
                clock = Task {
                    do { try await Task.sleep(for: bound) } catch { return }  // cancelled: shut down in time
                    answer.deliver(.failure(ShutdownTimedOut(what: what, bound: bound)))
                }
            }
        }
        do { answer.deliver(.success(try await body(startClock))) } catch { answer.deliver(.failure(error)) }
    }
    defer { done.withLock { $0?.cancel() } }
    return try await withTaskCancellationHandler {
        try await answer.value
    } onCancel: {
        work.cancel()
    }
}

/// Runs `body` while `client` runs, then shuts the client down within `shutdownBound` (for commands and tests, not
/// the server; `ShutdownTimedOut` past it).
public func withPostgresClient<T: Sendable>(
    _ client: PostgresClient, shutdownBound: Duration = .seconds(10), _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withShutdownBound(shutdownBound, of: "the PostgreSQL client") { workDone in
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer {
                group.cancelAll()
                workDone()
            }
            return try await body()
        }
    }
}
