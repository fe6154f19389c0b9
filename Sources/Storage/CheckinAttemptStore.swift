import Foundation
import Logging
import PostgresNIO

/// Every check-in attempt, admitted or refused: when, by which account, how (`CheckinMethod`), its outcome (the
/// answer's code: `checked_in`, `repeat`, `no_match`, `membership_inactive`, `no_face`, …), the member it was about
/// if any (the match, or the nearest member of a refused face) and the face's distance. No photo is kept.
public struct CheckinAttemptStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct NewAttempt: Sendable, Equatable {
        public var organization: UUID
        public var account: UUID?
        public var method: String
        public var outcome: String
        public var member: UUID?
        public var distance: Float?
        /// Why, where the outcome has a reason (`expired`, a staff member's words for a manual check-in).
        public var reason: String?
        public var checkin: UUID?

        public init(
            organization: UUID, account: UUID?, method: String, outcome: String, member: UUID? = nil,
            distance: Float? = nil, reason: String? = nil, checkin: UUID? = nil
        ) {
            self.organization = organization
            self.account = account
            self.method = method
            self.outcome = outcome
            self.member = member
            self.distance = distance
            self.reason = reason
            self.checkin = checkin
        }
    }

    public struct Attempt: Sendable, Equatable {
        public var id: UUID
        public var occurredAt: Date
        public var account: UUID?
        public var method: String
        public var outcome: String
        public var member: UUID?
        /// The member's name and external id (nil once the member is erased).
        public var memberName: String?
        public var memberExternalID: String?
        public var distance: Float?
        public var reason: String?
        public var checkin: UUID?
    }

    public func record(_ attempt: NewAttempt) async throws {
        // A member erased since the decision is no longer named.
        _ = try await database.query(
            """
            INSERT INTO checkin_attempts (organization_id, account_id, method, outcome, member_id, distance, reason,
                                          checkin_id)
            SELECT \(attempt.organization), \(attempt.account), \(attempt.method), \(attempt.outcome),
                   (SELECT id FROM members WHERE id = \(attempt.member) AND organization_id = \(attempt.organization)),
                   \(attempt.distance), \(Self.storable(attempt.reason)),
                   (SELECT id FROM checkins WHERE id = \(attempt.checkin))
            """, logger: logger)
    }

    /// A reason as the column keeps it: trimmed, at most 500 code points (as PostgreSQL counts), nil when empty.
    static func storable(_ reason: String?) -> String? {
        guard let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else {
            return nil
        }
        return String(String.UnicodeScalarView(trimmed.unicodeScalars.prefix(500)))
    }

    /// The organisation's attempts within [from, to), of one outcome if given, newest first, after `cursor` (the
    /// time and id of the last one of the previous page).
    public func list(
        organization: UUID, from: Date?, to: Date?, outcome: String?, limit: Int, after cursor: (at: Date, id: UUID)?
    ) async throws -> [Attempt] {
        let rows = try await database.query(
            """
            SELECT a.id, a.occurred_at, a.account_id, a.method, a.outcome, a.member_id, m.name, m.external_id,
                   a.distance, a.reason, a.checkin_id
            FROM checkin_attempts a
            LEFT JOIN members m ON m.id = a.member_id AND m.organization_id = a.organization_id
            WHERE a.organization_id = \(organization)
              AND (\(from)::timestamptz IS NULL OR a.occurred_at >= \(from))
              AND (\(to)::timestamptz IS NULL OR a.occurred_at < \(to))
              AND (\(outcome)::text IS NULL OR a.outcome = \(outcome))
              AND (\(cursor?.at)::timestamptz IS NULL OR (a.occurred_at, a.id) < (\(cursor?.at), \(cursor?.id)))
            ORDER BY a.occurred_at DESC, a.id DESC LIMIT \(limit)
            """, logger: logger)
        return try rows.decode(
            (UUID, Date, UUID?, String, String, UUID?, String?, String?, Float?, String?, UUID?).self
        ).map {
            Attempt(
                id: $0.0, occurredAt: $0.1, account: $0.2, method: $0.3, outcome: $0.4, member: $0.5,
                memberName: $0.6, memberExternalID: $0.7, distance: $0.8, reason: $0.9, checkin: $0.10)
        }
    }
}
