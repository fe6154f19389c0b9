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
            if let bodyError = error.closureError, error.beginError == nil, error.rollbackError == nil,
               error.commitError == nil {
                throw bodyError
            }
            throw error
        }
    }
}
