import Foundation
import Logging
import PostgresNIO

extension CheckinStore {
    /// A check-in as exports list it, for billing and attendance: when, who, and how close the face was.
    public struct ExportedCheckin: Sendable, Equatable {
        public var checkedInAt: Date
        public var memberID: UUID
        public var externalID: String?
        public var name: String
        public var distance: Float
    }

    /// The organisation's check-ins within [from, to) (either open), oldest first, read as they arrive
    /// (`Database.streamingQuery`: millions in constant memory).
    public func exportRows(organization: UUID, from: Date?, to: Date?) async throws -> StreamedRows<ExportedCheckin> {
        let rows = try await database.streamingQuery(
            """
            SELECT c.checked_in_at, c.member_id, m.external_id, m.name, c.distance
            FROM checkins c JOIN members m ON m.id = c.member_id AND m.organization_id = c.organization_id
            WHERE c.organization_id = \(organization)
              AND (\(from)::timestamptz IS NULL OR c.checked_in_at >= \(from))
              AND (\(to)::timestamptz IS NULL OR c.checked_in_at < \(to))
            ORDER BY c.checked_in_at, c.id
            """, logger: logger)
        return StreamedRows(rows) { row in
            let (at, member, externalID, name, distance) = try row.decode((Date, UUID, String?, String, Float).self)
            return ExportedCheckin(checkedInAt: at, memberID: member, externalID: externalID, name: name, distance: distance)
        }
    }

    /// Every check-in of one member, oldest first (a member's own data: a few a week over the retention period).
    public func all(of member: UUID, organization: UUID) async throws -> [Checkin] {
        var found: [Checkin] = []
        let rows = try await database.query(
            """
            SELECT id, member_id, distance, similarity, checked_in_at FROM checkins
            WHERE member_id = \(member) AND organization_id = \(organization)
            ORDER BY checked_in_at, id
            """, logger: logger)
        for (id, member, distance, similarity, at) in try rows.decode((UUID, UUID, Float, Float, Date).self) {
            found.append(Checkin(id: id, memberID: member, distance: distance, similarity: similarity, checkedInAt: at))
        }
        return found
    }
}
