import Foundation
import Logging
import PostgresNIO

extension MemberStore {
    /// A member as `facegate export members` lists it: the columns of an import (no biometric data).
    public struct ExportedMember: Sendable, Equatable {
        var id: UUID
        /// `lower(name)` as the database orders it: where the next page starts.
        var sortName: String
        public var externalID: String?
        public var name: String
        public var email: String?
        /// JSON text of an object.
        public var metadata: String
        public var status: String
        public var validUntil: String?
    }

    /// The organisation's members by name, a page of `pageSize` at a time (`PagedRows`: any number in constant
    /// memory).
    public func exportRows(organization: UUID, pageSize: Int = 5000) async throws -> PagedRows<ExportedMember> {
        try await PagedRows(pageSize: pageSize) { [database, logger] after in
            let rows = try await database.query(
                """
                SELECT id, lower(name), external_id, name, email, metadata::text, status, valid_until::text FROM members
                WHERE organization_id = \(organization)
                  AND (\(after?.id)::uuid IS NULL OR (lower(name), id) > (\(after?.sortName)::text, \(after?.id)::uuid))
                ORDER BY lower(name), id LIMIT \(pageSize)
                """, logger: logger)
            return try rows.decode((UUID, String, String?, String, String?, String, String, String?).self).map {
                ExportedMember(
                    id: $0.0, sortName: $0.1, externalID: $0.2, name: $0.3, email: $0.4, metadata: $0.5,
                    status: $0.6, validUntil: $0.7)
            }
        }
    }

    /// The organisation a member belongs to (nil: no such member anywhere).
    public func organization(of member: UUID) async throws -> UUID? {
        try await database.query("SELECT organization_id FROM members WHERE id = \(member)", logger: logger)
            .first(UUID.self)
    }

    /// One of a member's stored faces as the member's own data shows it: what made it and where, never the
    /// embedding, the thumbnail or the crop.
    public struct FaceRecord: Sendable, Equatable {
        public var id: UUID
        public var model: String
        public var modelVersion: String
        public var box: [Int]?
        public var quality: [String: Double]
        /// The keyed digest of the photo it was made from (`TemplateKeys.photoDigest`; a plain SHA-256 if stored
        /// before digests were keyed and not rotated since).
        public var photoDigest: [UInt8]
        public var createdAt: Date
    }

    /// The member's faces of every model, oldest first.
    public func faceRecords(of member: UUID, organization: UUID) async throws -> [FaceRecord] {
        let rows = try await database.query(
            """
            SELECT id, model, model_version, box::text, quality::text, photo_digest, created_at FROM faces
            WHERE member_id = \(member) AND organization_id = \(organization)
            ORDER BY created_at, id
            """, logger: logger)
        return try rows.decode((UUID, String, String, String?, String, ByteBuffer, Date).self).map {
            FaceRecord(
                id: $0.0, model: $0.1, modelVersion: $0.2,
                box: $0.3.flatMap { try? JSONDecoder().decode([Int].self, from: Data($0.utf8)) },
                quality: (try? JSONDecoder().decode([String: Double].self, from: Data($0.4.utf8))) ?? [:],
                photoDigest: Array(buffer: $0.5), createdAt: $0.6)
        }
    }

    /// An entry of the audit log.
    public struct AuditEntry: Sendable, Equatable {
        public var id: Int64
        public var occurredAt: Date
        public var action: String
        /// The account that did it (nil: the service itself, or an account deleted since).
        public var actor: UUID?
        public var target: String?
        /// JSON text of an object.
        public var details: String
    }

    /// The audit entries about a member: those whose target is the member or one of its faces (of any model), oldest
    /// first. (A deleted face's entries name a face that no longer says whose it was.)
    public func auditTrail(of member: UUID, organization: UUID) async throws -> [AuditEntry] {
        let rows = try await database.query(
            """
            SELECT a.id, a.occurred_at, a.action, a.actor_user_id, a.target, a.details::text FROM audit_log a
            WHERE a.organization_id = \(organization)
              AND upper(a.target) IN (SELECT upper(\(member.uuidString))
                                      UNION ALL SELECT upper(f.id::text) FROM faces f
                                      WHERE f.member_id = \(member) AND f.organization_id = \(organization))
            ORDER BY a.occurred_at, a.id
            """, logger: logger)
        return try rows.decode((Int64, Date, String, UUID?, String?, String).self).map {
            AuditEntry(id: $0.0, occurredAt: $0.1, action: $0.2, actor: $0.3, target: $0.4, details: $0.5)
        }
    }

    /// Writes the `member_exported` audit entry (by `actor`; nil: the service itself, `facegate export member`) with
    /// what the export held; false when there is no such member there.
    public func recordExport(
        member: UUID, organization: UUID, actor: UUID?, faces: Int, checkins: Int
    ) async throws -> Bool {
        let rows = try await database.query(
            """
            INSERT INTO audit_log (organization_id, actor_user_id, action, target, details)
            SELECT organization_id, \(actor), 'member_exported', \(member.uuidString),
                   jsonb_build_object('faces', \(faces), 'checkins', \(checkins))
            FROM members WHERE id = \(member) AND organization_id = \(organization)
            RETURNING id
            """, logger: logger)
        return try rows.first(Int64.self) != nil
    }
}
