import Logging
import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, but an error thrown by `body` reaches the caller as itself rather than wrapped in
    /// `PostgresTransactionError`, so callers can match on `StorageError` and friends. Failures of BEGIN, COMMIT or
    /// ROLLBACK still surface as the `PostgresTransactionError` that describes them.
    func transaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            throw error.bodyErrorIfOnlyThat
        }
    }
}

extension PostgresTransactionError {
    /// The error `body` threw when BEGIN and ROLLBACK went well (so callers can match on it), else this error.
    var bodyErrorIfOnlyThat: any Error {
        if let bodyError = closureError, beginError == nil, rollbackError == nil, commitError == nil {
            return bodyError
        }
        return self
    }
}

extension PostgresRowSequence {
    /// The first row's only column, or nil when there is no row.
    func first<T: PostgresDecodable & Sendable>(_ type: T.Type) async throws -> T? {
        for try await value in decode(T.self) { return value }
        return nil
    }

    /// The first row decoded as a tuple, or nil when there is no row.
    func firstRow<each Column: PostgresDecodable>(_ type: (repeat each Column).Type) async throws -> (
        repeat each Column
    )? {
        for try await value in decode(type) { return value }
        return nil
    }

    /// The only column of a row the statement always returns (`INSERT … RETURNING`).
    func single<T: PostgresDecodable & Sendable>(_ type: T.Type) async throws -> T {
        guard let value = try await first(type) else { throw StorageError.noRowReturned }
        return value
    }
}
