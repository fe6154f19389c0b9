import Foundation
import Logging
import PostgresNIO

/// The first answer to each `Idempotency-Key` of an account (`idempotency_keys`), kept until retention purges it.
public struct IdempotencyStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct StoredAnswer: Sendable, Equatable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]

        public init(status: Int, contentType: String?, body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public enum Claim: Sendable, Equatable {
        /// The key is new: this request runs, and its answer is then stored (`complete`) or the claim released.
        case claimed
        /// The same request ran before: its answer.
        case answered(StoredAnswer)
        /// The same request is running now.
        case inProgress
        /// The key was used for a different request.
        case mismatch
    }

    /// How long a claim without an answer holds: past it the request is taken to have died with its answer (a
    /// killed process, a lost connection) and the key may be claimed again.
    public static let abandonedAfter: Duration = .seconds(300)

    /// Claims `key` for a request whose content hashes to `requestHash`, or tells what the key already stands for.
    public func claim(user: UUID, key: String, requestHash: [UInt8]) async throws -> Claim {
        let abandoned = Int(Self.abandonedAfter / .seconds(1))
        let inserted = try await database.query(
            """
            INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES (\(user), \(key), \(requestHash.byteBuffer))
            ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, created_at = now()
                WHERE idempotency_keys.status IS NULL
                  AND idempotency_keys.created_at < now() - make_interval(secs => \(abandoned))
            RETURNING 1
            """, logger: logger)
        if !inserted.isEmpty { return .claimed }
        let rows = try await database.query(
            """
            SELECT request_hash, status, content_type, body FROM idempotency_keys
            WHERE user_id = \(user) AND key = \(key)
            """, logger: logger)
        guard let (hash, status, contentType, body) = try rows.firstRow((ByteBuffer, Int?, String?, ByteBuffer?).self)
        else { return try await claim(user: user, key: key, requestHash: requestHash) }  // purged meanwhile
        guard Array(buffer: hash) == requestHash else { return .mismatch }
        guard let status else { return .inProgress }
        return .answered(
            StoredAnswer(status: status, contentType: contentType, body: body.map { Array(buffer: $0) } ?? []))
    }

    /// Stores the answer of a claimed key.
    public func complete(user: UUID, key: String, answer: StoredAnswer) async throws {
        try await database.query(
            """
            UPDATE idempotency_keys SET status = \(answer.status), content_type = \(answer.contentType),
                   body = \(answer.body.byteBuffer) WHERE user_id = \(user) AND key = \(key)
            """, logger: logger)
    }

    /// Gives a claimed key up (the request failed in a way a retry may fix: it may run again).
    public func release(user: UUID, key: String) async throws {
        try await database.query(
            "DELETE FROM idempotency_keys WHERE user_id = \(user) AND key = \(key) AND status IS NULL", logger: logger)
    }
}
