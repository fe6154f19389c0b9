import Foundation
import Logging
import PostgresNIO

/// Check-ins: who came in, when, and how close the face was.
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
        public var distance: Float
        public var similarity: Float
        public var checkedInAt: Date
    }

    private static let columns = "id, member_id, distance, similarity, checked_in_at"

    private func checkins(_ query: PostgresQuery) async throws -> [Checkin] {
        var found: [Checkin] = []
        for (id, member, distance, similarity, at)
            in try await database.query(query, logger: logger).decode((UUID, UUID, Float, Float, Date).self) {
            found.append(Checkin(id: id, memberID: member, distance: distance, similarity: similarity, checkedInAt: at))
        }
        return found
    }

    /// Records a check-in, unless the member already has one within `dedupSeconds`: then that one is returned with
    /// `created` false. The database decides (exclusion constraint), so concurrent kiosks cannot both add one.
    public func record(
        organization: UUID, member: UUID, face: UUID?, distance: Float, similarity: Float, dedupSeconds: Int,
        recordedBy: UUID?
    ) async throws -> (checkin: Checkin, created: Bool) {
        let inserted = try await checkins(
            """
            INSERT INTO checkins (organization_id, member_id, face_id, distance, similarity, dedup_until, recorded_by)
            VALUES (\(organization), \(member), \(face), \(distance), \(similarity),
                    now() + make_interval(secs => \(Double(dedupSeconds))), \(recordedBy))
            ON CONFLICT ON CONSTRAINT checkins_dedup DO NOTHING
            RETURNING \(unescaped: Self.columns)
            """)
        if let checkin = inserted.first { return (checkin, true) }
        let existing = try await checkins(
            """
            SELECT \(unescaped: Self.columns) FROM checkins
            WHERE member_id = \(member) AND organization_id = \(organization) AND dedup_until > now()
            ORDER BY checked_in_at DESC LIMIT 1
            """)
        guard let checkin = existing.first else {
            // The window closed between the two statements: record it now.
            return try await record(organization: organization, member: member, face: face, distance: distance,
                                    similarity: similarity, dedupSeconds: dedupSeconds, recordedBy: recordedBy)
        }
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
