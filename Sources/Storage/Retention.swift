import Logging
import PostgresNIO

/// What is kept how long, and the purge that enforces it: expired refresh tokens and check-in confirmations (they can
/// never be used again),
/// idempotency keys after a day, audit entries older than `auditDays`, check-ins older than `checkinDays` and check-in
/// attempts older than `attemptDays` (0: kept for ever), webhook events a month old. Deletes go in
/// batches, so that no statement holds locks for long; several instances purging at once only share the work.
public struct Retention: Sendable {
    public var auditDays: Int
    public var checkinDays: Int
    public var attemptDays: Int

    public init(auditDays: Int, checkinDays: Int, attemptDays: Int = 90) {
        self.auditDays = auditDays
        self.checkinDays = checkinDays
        self.attemptDays = attemptDays
    }

    public struct Purged: Sendable, Equatable {
        public var refreshTokens = 0, idempotencyKeys = 0, auditEntries = 0, checkins = 0, attempts = 0,
            webhookEvents = 0
        public init() {}
        public var isEmpty: Bool { self == Purged() }
    }

    static let batch = 5000

    /// Deletes what is past its time; returns how many rows of each kind.
    public func purge(_ database: Database, logger: Logger) async throws -> Purged {
        var purged = Purged()
        purged.refreshTokens = try await deleteInBatches(
            database, logger: logger, table: "refresh_tokens", key: "id",
            condition: "expires_at < now()")
        purged.idempotencyKeys = try await deleteInBatches(
            database, logger: logger, table: "idempotency_keys",
            key: "ctid", condition: "created_at < now() - interval '1 day'")
        _ = try await deleteInBatches(
            database, logger: logger, table: "checkin_confirmations", key: "id",
            condition: "expires_at < now()")
        _ = try await deleteInBatches(
            database, logger: logger, table: "checkin_challenges", key: "id",
            condition: "expires_at < now()")
        if auditDays > 0 {
            purged.auditEntries = try await deleteInBatches(
                database, logger: logger, table: "audit_log", key: "id",
                condition: "occurred_at < now() - make_interval(days => \(auditDays))")
        }
        if checkinDays > 0 {
            purged.checkins = try await deleteInBatches(
                database, logger: logger, table: "checkins", key: "id",
                condition: "checked_in_at < now() - make_interval(days => \(checkinDays))")
        }
        // Webhook events 30 days after they were written, with their deliveries (retries end after at most
        // WEBHOOK_RETRY_HOURS; one still waiting then, on a disabled endpoint, is not sent): long enough to look at
        // and redeliver, not a second copy of the member data for ever.
        purged.webhookEvents = try await deleteInBatches(
            database, logger: logger, table: "webhook_events", key: "id",
            condition: "created_at < now() - interval '30 days'")
        if attemptDays > 0 {
            purged.attempts = try await deleteInBatches(
                database, logger: logger, table: "checkin_attempts", key: "id",
                condition: "occurred_at < now() - make_interval(days => \(attemptDays))")
        }
        return purged
    }

    private func deleteInBatches(
        _ database: Database, logger: Logger, table: String, key: String, condition: String
    ) async throws -> Int {
        var total = 0
        while true {
            // Off the request path: a batch may take longer than a request's statement bound on a large backlog.
            let deleted = try await database.transaction(logger: logger) { connection in
                try await connection.query(Database.offRequestPath, logger: logger)
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            WITH doomed AS (DELETE FROM \(table) WHERE \(key) IN
                                            (SELECT \(key) FROM \(table) WHERE \(condition) LIMIT \(Self.batch)) RETURNING 1)
                            SELECT count(*)::int FROM doomed
                            """), logger: logger)
                return try await rows.first(Int.self) ?? 0
            }
            total += deleted
            if deleted < Self.batch { return total }
        }
    }
}
