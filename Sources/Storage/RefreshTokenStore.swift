import Foundation
import Logging
import PostgresNIO

/// Refresh tokens by the SHA-256 of their text (the tokens themselves are never stored).
public struct RefreshTokenStore: Sendable {
    let database: Database
    let logger: Logger
    /// How long a token just replaced by a refresh may be presented again (its answer was lost) without counting as
    /// reuse: the token that replaced it is then revoked for good and a new one takes its place.
    let reuseGrace: Duration

    public init(database: Database, logger: Logger, reuseGrace: Duration = .seconds(3)) {
        self.database = database
        self.logger = logger
        self.reuseGrace = reuseGrace
    }

    public struct NewToken: Sendable {
        public var id: UUID
        public var user: UUID
        public var family: UUID
        public var hash: [UInt8]
        public var expiresAt: Date

        public init(id: UUID, user: UUID, family: UUID, hash: [UInt8], expiresAt: Date) {
            self.id = id
            self.user = user
            self.family = family
            self.hash = hash
            self.expiresAt = expiresAt
        }
    }

    public func insert(_ token: NewToken) async throws {
        try await database.query(Self.insertion(token), logger: logger)
    }

    static func insertion(_ token: NewToken) -> PostgresQuery {
        """
        INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
        VALUES (\(token.id), \(token.user), \(token.family), \(token.hash.byteBuffer), \(token.expiresAt))
        """
    }

    public enum Rotation: Sendable, Equatable {
        /// The presented token was current: it is now revoked and `next` stored in its family.
        case rotated(user: UUID, family: UUID)
        /// The presented token had just been replaced (within the grace) by a token nobody has used yet (the answer
        /// was lost): that replacement is now revoked for good, as if stolen (presenting it later is reuse), and
        /// `next` takes its place. The session does not fork: one pair goes on.
        case replacedInGrace(user: UUID, family: UUID)
        /// No such token, or it has expired.
        case invalid
        /// The token had already been used or revoked: its whole family is now revoked (a stolen token was used).
        case reused(user: UUID, family: UUID)
    }

    /// Exchanges the token whose hash is `hash` for `next` (of the same user and family), atomically: two concurrent
    /// refreshes with one token cannot both succeed at once. A token replaced less than `reuseGrace` ago whose
    /// replacement is still current (its answer was lost on the way) is accepted once more: the replacement is
    /// revoked instead, with no successor of its own (so that whoever holds it meets reuse, and the session ends,
    /// rather than going on beside `next`), and `next` takes its place as the presented token's replacement (a retry
    /// within the same grace, counted from the first exchange, replaces it in turn). Any other revoked token is reuse:
    /// the family is revoked.
    public func rotate(hash: [UInt8], next: NewToken) async throws -> Rotation {
        let graceMilliseconds = Int(reuseGrace / .milliseconds(1))
        return try await database.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT t.user_id, t.family_id, t.revoked_at IS NOT NULL, t.expires_at <= now(),
                       t.replaced_by IS NOT NULL AND t.revoked_at > now() - make_interval(secs => \(graceMilliseconds) / 1000.0)
                       AND r.revoked_at IS NULL AND r.expires_at > now()
                FROM refresh_tokens t LEFT JOIN refresh_tokens r ON r.id = t.replaced_by
                WHERE t.token_hash = \(hash.byteBuffer) FOR UPDATE OF t
                """, logger: logger)
            var found: (user: UUID, family: UUID, revoked: Bool, expired: Bool, lostAnswer: Bool?)?
            for try await row in rows.decode((UUID, UUID, Bool, Bool, Bool?).self) { found = row }
            guard let found, !found.expired else { return .invalid }
            guard next.user == found.user, next.family == found.family else { return .invalid }
            var replaced = hash.byteBuffer
            if found.revoked {
                guard found.lostAnswer == true else {
                    try await connection.query(
                        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = \(found.family) AND revoked_at IS NULL",
                        logger: logger)
                    return .reused(user: found.user, family: found.family)
                }
                // The replacement nobody has used yet gives way to `next` (checked again under its lock).
                let current = try await connection.query(
                    """
                    SELECT r.token_hash FROM refresh_tokens t JOIN refresh_tokens r ON r.id = t.replaced_by
                    WHERE t.token_hash = \(hash.byteBuffer) AND r.revoked_at IS NULL FOR UPDATE OF r
                    """, logger: logger)
                var stillCurrent = false
                for try await value in current.decode(ByteBuffer.self) { (replaced, stillCurrent) = (value, true) }
                guard stillCurrent else {
                    try await connection.query(
                        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = \(found.family) AND revoked_at IS NULL",
                        logger: logger)
                    return .reused(user: found.user, family: found.family)
                }
            }
            try await connection.query(Self.insertion(next), logger: logger)
            guard found.revoked else {
                try await connection.query(
                    """
                    UPDATE refresh_tokens SET revoked_at = now(), replaced_by = \(next.id)
                    WHERE token_hash = \(replaced) AND revoked_at IS NULL
                    """, logger: logger)
                return .rotated(user: found.user, family: found.family)
            }
            // The replacement gives way with no successor: presented later, it is reuse (the session ends).
            try await connection.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = \(replaced) AND revoked_at IS NULL",
                logger: logger)
            try await connection.query(
                "UPDATE refresh_tokens SET replaced_by = \(next.id) WHERE token_hash = \(hash.byteBuffer)",
                logger: logger)
            return .replacedInGrace(user: found.user, family: found.family)
        }
    }

    /// Revokes every token of a family (logout of one session).
    public func revokeFamily(_ family: UUID) async throws {
        try await database.query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = \(family) AND revoked_at IS NULL",
            logger: logger)
    }
}
