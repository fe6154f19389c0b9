import Logging
import PostgresNIO
import Synchronization

/// PostgreSQL as the stores use it on the request path: every statement runs on a pooled connection that must be
/// had within `connectionWait`, or the call fails with `StorageError.timedOut`. postgres-nio's pool keeps a waiting
/// caller waiting for as long as it cannot connect (vapor/postgres-nio#489), so without this bound a request made
/// while the database is down would hang until it returns; with it, the caller gets a 503 within the wait. A
/// statement already running is not cut short: a connection lost under it fails it at once.
public struct Database: Sendable {
    public let client: PostgresClient
    public let connectionWait: Duration
    public static let defaultConnectionWait: Duration = .seconds(2)

    public init(client: PostgresClient, connectionWait: Duration = Self.defaultConnectionWait) {
        self.client = client
        self.connectionWait = connectionWait
    }

    /// Runs `body` on a pooled connection, leased within `connectionWait`. The caller is answered when the wait is
    /// over, or at once when it is cancelled before a connection was leased, even if the pool has not yet dropped
    /// the lease: the lease runs in a task of its own, which the caller never waits for once the clock or the
    /// cancellation has won (a lease granted after that is handed back unused). Once `body` runs, the caller waits
    /// for it as usual.
    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let race = LeaseRace()
        let answer = Answer<Result>()
        let tooLate = StorageError.timedOut("waiting for a database connection")
        let lease = Task { [client] in
            do {
                answer.deliver(.success(try await client.withConnection { connection in
                    guard race.settle(.leased) else { throw tooLate }
                    return try await body(connection)
                }))
            } catch {
                answer.deliver(.failure(error))
            }
        }
        let clock = Task { [connectionWait] in
            do { try await Task.sleep(for: connectionWait) } catch { return }  // cancelled: answered in time
            if race.settle(.timedOut) {
                answer.deliver(.failure(tooLate))
                lease.cancel()
            }
        }
        defer { clock.cancel() }
        return try await withTaskCancellationHandler {
            try await answer.value
        } onCancel: {
            if race.settle(.cancelled) { answer.deliver(.failure(CancellationError())) }
            lease.cancel()
        }
    }

    /// Runs one statement and returns all its rows.
    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withConnection { connection in try await connection.query(query, logger: logger).collect() }
    }

    /// Runs `body` in a transaction (committed when it returns, rolled back when it throws). An error thrown by
    /// `body` reaches the caller as itself; failures of BEGIN, COMMIT or ROLLBACK as `PostgresTransactionError`.
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            do {
                return try await connection.withTransaction(logger: logger) { try await body($0) }
            } catch let error as PostgresTransactionError {
                throw error.bodyErrorIfOnlyThat
            }
        }
    }
}

/// Who settled a lease first: the pool handing out a connection, the clock, or the caller's cancellation.
private final class LeaseRace: Sendable {
    enum Outcome: UInt8 { case pending, leased, timedOut, cancelled }
    private let state = Atomic<UInt8>(Outcome.pending.rawValue)

    /// True when `outcome` is the first to settle the race.
    func settle(_ outcome: Outcome) -> Bool {
        state.compareExchange(expected: Outcome.pending.rawValue, desired: outcome.rawValue, ordering: .acquiringAndReleasing)
            .exchanged
    }
}

/// A result delivered once, by whichever task has it first, to one waiting caller.
private final class Answer<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case delivered(Swift.Result<Value, any Error>)
        case taken
    }
    private let state = Mutex<State>(.waiting(nil))

    /// Delivers `result` unless one was delivered already.
    func deliver(_ result: Swift.Result<Value, any Error>) {
        let waiting: CheckedContinuation<Value, any Error>? = state.withLock { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = continuation == nil ? .delivered(result) : .taken
            return continuation
        }
        waiting?.resume(with: result)
    }

    /// The delivered result, awaited when there is none yet.
    var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Swift.Result<Value, any Error>? = state.withLock { state in
                    guard case .delivered(let result) = state else {
                        state = .waiting(continuation)
                        return nil
                    }
                    state = .taken
                    return result
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}

extension Array where Element == PostgresRow {
    /// Every row decoded as `type` (a column type or a tuple of them).
    public func decode<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try map { try $0.decode(type) }
    }

    /// The first row's only column, or nil when there is no row.
    func first<T: PostgresDecodable>(_ type: T.Type) throws -> T? {
        try first.map { try $0.decode(T.self) }
    }

    /// The first row decoded as a tuple, or nil when there is no row.
    func firstRow<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) throws -> (repeat each Column)? {
        try first.map { try $0.decode(type) }
    }

    /// The only column of a row the statement always returns (`INSERT … RETURNING`).
    func single<T: PostgresDecodable>(_ type: T.Type) throws -> T {
        guard let value = try first(type) else { throw StorageError.noRowReturned }
        return value
    }
}
