import Foundation
import Logging
import PostgresNIO

/// How a check-in was made.
public enum CheckinMethod: String, Sendable, CaseIterable {
    /// The face alone, 1:N.
    case face
    /// A member number and the face, 1:1.
    case codeFace = "code_face"
    /// The face and the member's PIN.
    case facePIN = "face_pin"
    /// By staff, with a reason (no face compared).
    case manual
}

/// Check-ins: who came in, when, how (`CheckinMethod`) and how close the face was.
public struct CheckinStore: Sendable {
    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public struct Checkin: Sendable, Equatable {
        public var id: UUID
        public var memberID: UUID
        /// The face's distance; nil for a manual check-in.
        public var distance: Float?
        public var similarity: Float?
        public var checkedInAt: Date
        /// A `CheckinMethod`.
        public var method: String
    }

    static let columns = "id, member_id, distance, similarity, checked_in_at, method"

    func checkins(_ query: PostgresQuery) async throws -> [Checkin] {
        var found: [Checkin] = []
        for (id, member, distance, similarity, at, method)
            in try await database.query(query, logger: logger).decode((UUID, UUID, Float?, Float?, Date, String).self)
        {
            found.append(
                Checkin(
                    id: id, memberID: member, distance: distance, similarity: similarity, checkedInAt: at,
                    method: method))
        }
        return found
    }

    /// Records a check-in, unless the member already has one within `dedupSeconds`: then that one is returned with
    /// `created` false. The database decides (exclusion constraint), so concurrent kiosks cannot both add one.
    public func record(
        organization: UUID, member: UUID, face: UUID?, distance: Float, similarity: Float, dedupSeconds: Int,
        recordedBy: UUID?, method: CheckinMethod = .face
    ) async throws -> (checkin: Checkin, created: Bool) {
        let inserted = try await checkins(
            """
            INSERT INTO checkins (organization_id, member_id, face_id, distance, similarity, dedup_until, recorded_by,
                                  method)
            VALUES (\(organization), \(member), \(face), \(distance), \(similarity),
                    now() + make_interval(secs => \(Double(dedupSeconds))), \(recordedBy), \(method.rawValue))
            ON CONFLICT ON CONSTRAINT checkins_dedup DO NOTHING
            RETURNING \(unescaped: Self.columns)
            """)
        if let checkin = inserted.first { return (checkin, true) }
        return try await recent(member: member, organization: organization) {
            try await record(
                organization: organization, member: member, face: face, distance: distance,
                similarity: similarity, dedupSeconds: dedupSeconds, recordedBy: recordedBy, method: method)
        }
    }

    /// A check-in staff make by hand (`manual`: no face compared), with their reason, and its `checkin_manual` audit
    /// entry in the same statement; within the member's de-duplication window the check-in already there is returned
    /// (`created` false, nothing audited).
    public func recordManual(
        organization: UUID, member: UUID, reason: String, dedupSeconds: Int, recordedBy: UUID
    ) async throws -> (checkin: Checkin, created: Bool) {
        let inserted = try await checkins(
            """
            WITH inserted AS (
                INSERT INTO checkins (organization_id, member_id, distance, similarity, dedup_until, recorded_by, method,
                                      reason)
                VALUES (\(organization), \(member), NULL, NULL, now() + make_interval(secs => \(Double(dedupSeconds))),
                        \(recordedBy), 'manual', \(reason))
                ON CONFLICT ON CONSTRAINT checkins_dedup DO NOTHING
                RETURNING \(unescaped: Self.columns)
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
                SELECT \(organization), \(recordedBy), 'checkin_manual', \(member.uuidString),
                       jsonb_build_object('checkin_id', id, 'reason', \(reason)::text) FROM inserted
            )
            SELECT \(unescaped: Self.columns) FROM inserted
            """)
        if let checkin = inserted.first { return (checkin, true) }
        return try await recent(member: member, organization: organization) {
            try await recordManual(
                organization: organization, member: member, reason: reason,
                dedupSeconds: dedupSeconds, recordedBy: recordedBy)
        }
    }

    /// The member's check-in whose de-duplication window is still open (not created now); `orElse` when it closed
    /// between the two statements.
    private func recent(
        member: UUID, organization: UUID, orElse record: () async throws -> (checkin: Checkin, created: Bool)
    ) async throws -> (checkin: Checkin, created: Bool) {
        let existing = try await checkins(
            """
            SELECT \(unescaped: Self.columns) FROM checkins
            WHERE member_id = \(member) AND organization_id = \(organization) AND dedup_until > now()
            ORDER BY checked_in_at DESC LIMIT 1
            """)
        // The window closed between the two statements: record it now.
        guard let checkin = existing.first else { return try await record() }
        return (checkin, false)
    }

    /// The organisation's check-ins, newest first, optionally of one member and within [from, to), after `cursor`
    /// (the time and id of the last one of the previous page).
    public func list(
        organization: UUID, member: UUID?, from: Date?, to: Date?, limit: Int, after cursor: (at: Date, id: UUID)?
    ) async throws -> [Checkin] {
        try await checkins(
            """
            SELECT \(unescaped: Self.columns) FROM checkins
            WHERE organization_id = \(organization)
              AND (\(member)::uuid IS NULL OR member_id = \(member))
              AND (\(from)::timestamptz IS NULL OR checked_in_at >= \(from))
              AND (\(to)::timestamptz IS NULL OR checked_in_at < \(to))
              AND (\(cursor?.at)::timestamptz IS NULL OR (checked_in_at, id) < (\(cursor?.at), \(cursor?.id)))
            ORDER BY checked_in_at DESC, id DESC LIMIT \(limit)
            """)
    }
}
