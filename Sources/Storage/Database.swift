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
    /// The longest a leased connection's work may take before the caller is answered `StorageError.timedOut` and the
    /// connection is closed (which ends the statement on a server that still listens); nil: no bound.
    public let statementTimeout: Duration?
    public static let defaultConnectionWait: Duration = .seconds(2)

    public init(
        client: PostgresClient, connectionWait: Duration = Self.defaultConnectionWait,
        statementTimeout: Duration? = nil
    ) {
        self.client = client
        self.connectionWait = connectionWait
        self.statementTimeout = statementTimeout
    }

    /// Runs `body` on a pooled connection, leased within `connectionWait`. The caller is answered when the wait is
    /// over, or at once when it is cancelled before a connection was leased, even if the pool still holds the lease
    /// request (`answerWithin`); a connection leased after that is handed back unused. Once `body` runs, the caller
    /// waits for it until `statementTimeout`, or until its connection is seen closed (`watched`).
    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        // The pool may hand out a connection that has just closed (before it has heard of the close): another one.
        for _ in 0..<3 {
            do { return try await leased(body) } catch is ClosedAtLease { continue }
        }
        throw StorageError.connectionLost
    }

    private struct ClosedAtLease: Error {}

    private func leased<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let tooLate = StorageError.timedOut("waiting for a database connection")
        return try await answerWithin(connectionWait, orThrow: tooLate) { [client, statementTimeout] deadline in
            try await client.withConnection { connection in
                guard deadline.commit() else { throw tooLate }
                guard !connection.isClosed else { throw ClosedAtLease() }
                return try await Self.watched(connection, timeout: statementTimeout) { try await body(connection) }
            }
        }
    }

    /// How often a statement in flight looks whether its connection has closed under it.
    static let closedConnectionCheck: Duration = .milliseconds(250)

    /// Runs `body` on `connection`, but answers `StorageError.connectionLost` once the connection has been closed for
    /// a check interval while `body` still waits, and `StorageError.timedOut` (closing the connection) once `timeout`
    /// has passed. postgres-nio (1.33.2) writes a statement to its channel without a promise: on a connection that
    /// has just closed (its backend killed by a crash of another, the server restarted) the write fails silently and
    /// the statement never completes; and a server that stalls (stopped, its host frozen) never answers at all.
    static func watched<Result: Sendable>(
        _ connection: PostgresConnection, timeout: Duration? = nil,
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        // Unstructured tasks: the caller is answered without waiting for a body that may never return.
        let answer = Answer<Result>()
        let timedOut = TimeoutFlag()
        let work = Task {
            do {
                answer.deliver(.success(try await body()))
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.queryCanceled.raw {
                // The server's own statement_timeout (the service sets it to the same bound): the timeout, said as such.
                answer.deliver(.failure(StorageError.timedOut("the database statement")))
            } catch {
                // Closing the connection at the timeout fails the statement: that is the timeout, said as such.
                answer.deliver(.failure(timedOut.isSet ? StorageError.timedOut("the database statement") : error))
            }
        }
        let watch = Task {
            let giveUp = timeout.map { ContinuousClock.now + $0 }
            var closedChecks = 0
            while closedChecks < 2 {
                do { try await Task.sleep(for: closedConnectionCheck) } catch { return }  // body answered
                if connection.isClosed { closedChecks += 1 }
                if let giveUp, ContinuousClock.now >= giveUp {
                    // Closed first (locally, at once), so that the pool never hands out a connection still busy with
                    // the abandoned statement; that also ends the statement on a server that still listens.
                    timedOut.set()
                    try? await connection.close()
                    answer.deliver(.failure(StorageError.timedOut("the database statement")))
                    work.cancel()
                    return
                }
            }
            answer.deliver(.failure(StorageError.connectionLost))
            work.cancel()
        }
        defer { watch.cancel() }
        return try await withTaskCancellationHandler {
            try await answer.value
        } onCancel: {
            work.cancel()
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

extension Array where Element == PostgresRow {
    /// Every row decoded as `type` (a column type or a tuple of them).
    public func decode<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) throws -> [(
        repeat each Column
    )] {
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

extension Database {
    /// Lifts the service's server-side bounds (`DATABASE_STATEMENT_TIMEOUT_MS` and the idle-in-transaction one, set
    /// for its sessions) for the rest of a transaction: for work off the request path that may take longer
    /// (migrations, and waiting for another instance's; gallery loads; retention batches), on a machine so loaded that
    /// the service itself is slow between two statements of it.
    static let offRequestPath: PostgresQuery = """
        SELECT set_config('statement_timeout', '0', true), set_config('idle_in_transaction_session_timeout', '0', true)
        """
}

/// Set once a statement's time is up (read by the task that ran it).
private final class TimeoutFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
