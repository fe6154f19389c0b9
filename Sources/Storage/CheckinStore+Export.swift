import Foundation
import Logging
import PostgresNIO

extension CheckinStore {
    /// A check-in as exports list it, for billing and attendance: when, who, and how close the face was.
    public struct ExportedCheckin: Sendable, Equatable {
        public var id: UUID
        public var checkedInAt: Date
        /// `checked_in_at` in whole microseconds since 1970, as stored: where the next page starts, exactly.
        var micros: Int64
        public var memberID: UUID
        public var externalID: String?
        public var name: String
        /// Nil for a manual check-in.
        public var distance: Float?
        /// A `CheckinMethod`.
        public var method: String
    }

    /// The organisation's check-ins within [from, to) (either open), oldest first, a page of `pageSize` at a time
    /// (`PagedRows`: millions in constant memory, no connection held while the reader is busy).
    public func exportRows(
        organization: UUID, from: Date?, to: Date?, pageSize: Int = 5000
    ) async throws -> PagedRows<ExportedCheckin> {
        try await PagedRows(pageSize: pageSize) { [database, logger] after in
            let rows = try await database.query(
                """
                SELECT c.id, c.checked_in_at, (extract(epoch FROM c.checked_in_at) * 1000000)::int8, c.member_id,
                       m.external_id, m.name, c.distance, c.method
                FROM checkins c JOIN members m ON m.id = c.member_id AND m.organization_id = c.organization_id
                WHERE c.organization_id = \(organization)
                  AND (\(from)::timestamptz IS NULL OR c.checked_in_at >= \(from))
                  AND (\(to)::timestamptz IS NULL OR c.checked_in_at < \(to))
                  AND (\(after?.micros)::int8 IS NULL
                       OR (c.checked_in_at, c.id) > (to_timestamp(0) + \(after?.micros)::int8 * interval '1 microsecond',
                                                     \(after?.id)::uuid))
                ORDER BY c.checked_in_at, c.id LIMIT \(pageSize)
                """, logger: logger)
            return try rows.decode((UUID, Date, Int64, UUID, String?, String, Float?, String).self).map {
                ExportedCheckin(
                    id: $0.0, checkedInAt: $0.1, micros: $0.2, memberID: $0.3, externalID: $0.4, name: $0.5,
                    distance: $0.6, method: $0.7)
            }
        }
    }

    /// Every check-in of one member, oldest first (a member's own data: a few a week over the retention period).
    public func all(of member: UUID, organization: UUID) async throws -> [Checkin] {
        try await checkins(
            """
            SELECT \(unescaped: Self.columns) FROM checkins
            WHERE member_id = \(member) AND organization_id = \(organization)
            ORDER BY checked_in_at, id
            """)
    }
}
