import Foundation
import PostgresNIO
import Storage
import TestSupport
import Testing

@Suite("Retention", .requiresDatabase) struct RetentionTests {
    let logger = TestDatabase.logger

    @Test(
        "expired refresh tokens, and audit entries, check-ins and check-in attempts past their days, are purged; the rest stays"
    )
    func purge() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                try await Migrator().migrate(client, logger: logger)
                for statement: PostgresQuery in [
                    "INSERT INTO organizations (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'Gym')",
                    """
                    INSERT INTO users (id, organization_id, username, password_hash, role) VALUES
                    ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'a', 'x', 'admin')
                    """,
                    """
                    INSERT INTO members (id, organization_id, name) VALUES
                    ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000001', 'M')
                    """,
                    // Three refresh tokens: expired an hour ago, expired long ago (revoked), valid.
                    """
                    INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, revoked_at)
                    SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000002', gen_random_uuid(),
                           sha256(i::text::bytea), now() + e, r
                    FROM (VALUES (1, interval '-1 hour', NULL::timestamptz), (2, interval '-40 days', now()),
                                 (3, interval '14 days', NULL)) v(i, e, r)
                    """,
                    // Idempotency keys of two days and of a minute ago.
                    """
                    INSERT INTO idempotency_keys (user_id, key, request_hash, created_at)
                    SELECT '00000000-0000-4000-8000-000000000002', k, sha256(k::bytea), now() - a
                    FROM (VALUES ('old', interval '2 days'), ('new', interval '1 minute')) v(k, a)
                    """,
                    // Audit entries of 400, 100 and 0 days ago; check-ins of 800, 400 and 0 days ago.
                    """
                    INSERT INTO audit_log (organization_id, action, occurred_at)
                    SELECT '00000000-0000-4000-8000-000000000001', 'test', now() - make_interval(days => d)
                    FROM unnest(ARRAY[400, 100, 0]) d
                    """,
                    """
                    INSERT INTO checkins (organization_id, member_id, distance, similarity, checked_in_at, dedup_until)
                    SELECT '00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000003', 0.05, 0.95,
                           now() - make_interval(days => d), now() - make_interval(days => d)
                    FROM unnest(ARRAY[800, 400, 0]) d
                    """,
                ] { try await client.query(statement, logger: logger) }
                let database = TestDatabase.database(client)
                // Check-in attempts through their store, then aged to 100, 30 and 0 days.
                let attempts = CheckinAttemptStore(database: database, logger: logger)
                for outcome in ["no_match", "checked_in", "no_face"] {
                    try await attempts.record(
                        .init(
                            organization: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, account: nil,
                            method: "face", outcome: outcome,
                            member: UUID(uuidString: "00000000-0000-4000-8000-000000000003")!,
                            distance: 0.4))
                }
                try await client.query(
                    """
                    UPDATE checkin_attempts SET occurred_at = now() - make_interval(days => CASE outcome
                        WHEN 'no_match' THEN 100 WHEN 'checked_in' THEN 30 ELSE 0 END)
                    """, logger: logger)
                let before = try await count(client)
                let purged = try await Retention(auditDays: 365, checkinDays: 730, attemptDays: 90)
                    .purge(database, logger: logger)
                #expect(
                    purged.refreshTokens == 2 && purged.auditEntries == 1 && purged.checkins == 1
                        && purged.idempotencyKeys == 1 && purged.attempts == 1, "\(purged)")
                let kept = try await attempts.list(
                    organization: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, from: nil, to: nil,
                    outcome: nil, limit: 10, after: nil)
                #expect(kept.map(\.outcome) == ["no_face", "checked_in"] && kept.allSatisfy { $0.memberName == "M" })
                let after = try await count(client)
                #expect(after.tokens == before.tokens - 2 && after.audit == before.audit - 1 && after.checkins == 2)
                // 0 days keeps everything; a second purge finds nothing more.
                let again = try await Retention(auditDays: 0, checkinDays: 0, attemptDays: 0).purge(
                    database, logger: logger)
                #expect(again.isEmpty)
            }
        }
    }

    func count(_ client: PostgresClient) async throws -> (tokens: Int, audit: Int, checkins: Int) {
        let rows = try await client.query(
            """
            SELECT (SELECT count(*)::int FROM refresh_tokens), (SELECT count(*)::int FROM audit_log),
                   (SELECT count(*)::int FROM checkins)
            """, logger: logger)
        for try await row in rows.decode((Int, Int, Int).self) { return row }
        return (0, 0, 0)
    }
}
