import Foundation
import Logging
import PostgresNIO

/// Refresh tokens by the SHA-256 of their text (the tokens themselves are never stored).
public struct RefreshTokenStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
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
        /// No such token, or it has expired.
        case invalid
        /// The token had already been used or revoked: its whole family is now revoked (a stolen token was used).
        case reused(user: UUID, family: UUID)
    }

    /// Exchanges the token whose hash is `hash` for `next` (of the same user and family), atomically: two concurrent
    /// refreshes with one token cannot both succeed.
    public func rotate(hash: [UInt8], next: NewToken) async throws -> Rotation {
        try await database.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT user_id, family_id, revoked_at IS NOT NULL, expires_at <= now() FROM refresh_tokens
                WHERE token_hash = \(hash.byteBuffer) FOR UPDATE
                """, logger: logger)
            var found: (user: UUID, family: UUID, revoked: Bool, expired: Bool)?
            for try await row in rows.decode((UUID, UUID, Bool, Bool).self) { found = row }
            guard let found, !found.expired else { return .invalid }
            if found.revoked {
                try await connection.query(
                    "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = \(found.family) AND revoked_at IS NULL",
                    logger: logger)
                return .reused(user: found.user, family: found.family)
            }
            try await connection.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = \(hash.byteBuffer)", logger: logger)
            guard next.user == found.user, next.family == found.family else { return .invalid }
            try await connection.query(Self.insertion(next), logger: logger)
            return .rotated(user: found.user, family: found.family)
        }
    }

    /// Revokes every token of a family (logout of one session).
    public func revokeFamily(_ family: UUID) async throws {
        try await database.query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = \(family) AND revoked_at IS NULL",
            logger: logger)
    }
}
