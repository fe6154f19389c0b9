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

    /// Runs `body` on a pooled connection, leased within `connectionWait`.
    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let race = LeaseRace()
        let tooLate = StorageError.timedOut("waiting for a database connection")
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { [client] in
                try await client.withConnection { connection in
                    guard race.settle(.leased) else { throw tooLate }
                    return try await body(connection)
                }
            }
            group.addTask { [connectionWait] in
                try await Task.sleep(for: connectionWait)
                // Too late: the pending lease is cancelled with the group.
                if race.settle(.timedOut) { throw tooLate }
                return nil
            }
            defer { group.cancelAll() }
            // The clock's task ends with nil once the lease won; the body's task ends with its result or throws.
            for try await case let result? in group { return result }
            preconditionFailure("the body's task ended without a result or an error")
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

/// Who settled a lease first: the pool handing out a connection, or the clock.
private final class LeaseRace: Sendable {
    enum Outcome: UInt8 { case pending, leased, timedOut }
    private let state = Atomic<UInt8>(Outcome.pending.rawValue)

    /// True when `outcome` is the first to settle the race.
    func settle(_ outcome: Outcome) -> Bool {
        state.compareExchange(expected: Outcome.pending.rawValue, desired: outcome.rawValue, ordering: .acquiringAndReleasing)
            .exchanged
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
