import Logging
import PostgresNIO

extension Database {
    /// Runs one statement and hands its rows over as the server sends them (postgres-nio's row sequence, which asks
    /// for more only as they are read), for exports of any size in constant memory. The connection must be had within
    /// `connectionWait` (else `StorageError.timedOut`), so that an export asked for while the database is down is
    /// answered at once; reading the rows has no time bound (`statementTimeout` is for requests, not for a million
    /// rows sent to a slow client). The connection goes back to the pool once the rows are read to the end or the
    /// sequence is dropped.
    func streamingQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        let tooLate = StorageError.timedOut("waiting for a database connection")
        return try await answerWithin(connectionWait, orThrow: tooLate) { [client] deadline in
            let rows = try await client.query(query, logger: logger)
            // Answered already (timed out or cancelled): dropping the rows hands the connection back.
            guard deadline.commit() else { throw tooLate }
            return rows
        }
    }
}

/// Rows of a streamed statement (`Database.streamingQuery`), each decoded as it arrives.
public struct StreamedRows<Element: Sendable>: AsyncSequence, Sendable {
    let rows: PostgresRowSequence
    let decode: @Sendable (PostgresRow) throws -> Element

    init(_ rows: PostgresRowSequence, decode: @escaping @Sendable (PostgresRow) throws -> Element) {
        self.rows = rows
        self.decode = decode
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var rows: PostgresRowSequence.AsyncIterator
        let decode: @Sendable (PostgresRow) throws -> Element

        public mutating func next() async throws -> Element? {
            guard let row = try await rows.next() else { return nil }
            return try decode(row)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(rows: rows.makeAsyncIterator(), decode: decode)
    }
}
