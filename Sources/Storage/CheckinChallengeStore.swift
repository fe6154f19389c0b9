import Foundation
import Logging
import PostgresNIO

/// Liveness challenges handed out to kiosks: the turn asked for, bound to the asking account, single use and
/// seconds long. Kept in the database, so that any instance can take the frames; expired ones are purged with the
/// retention.
public struct CheckinChallengeStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// A challenge asking for `turn` (`left`, `right`) for `lifetime` seconds; its id.
    public func create(organization: UUID, account: UUID, turn: String, lifetime: Int) async throws -> UUID {
        let rows = try await database.query(
            """
            INSERT INTO checkin_challenges (organization_id, account_id, turn, expires_at)
            VALUES (\(organization), \(account), \(turn), now() + make_interval(secs => \(Double(lifetime))))
            RETURNING id
            """, logger: logger)
        guard let id = try rows.first(UUID.self) else { throw StorageError.noRowReturned }
        return id
    }

    /// Uses the challenge up: its turn, if it is the account's and has not expired; nil otherwise (unknown, another
    /// account's, expired, used: all alike). Of two requests with the same challenge at once, one gets it.
    public func take(_ id: UUID, organization: UUID, account: UUID) async throws -> String? {
        let rows = try await database.query(
            """
            DELETE FROM checkin_challenges
            WHERE id = \(id) AND organization_id = \(organization) AND account_id = \(account) AND expires_at > now()
            RETURNING turn
            """, logger: logger)
        return try rows.first(String.self)
    }
}
