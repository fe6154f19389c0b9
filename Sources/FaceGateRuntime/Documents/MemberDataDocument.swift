import FaceEngine
import Foundation
import Storage
import UseCases

/// A member's own data (`MemberDataExport`) as one JSON document: what `GET /api/v1/members/{id}/export` answers and
/// `facegate export member` writes, in the API's conventions (snake_case keys, ISO 8601 times, lowercase ids),
/// indented for people to read.
public enum MemberDataDocument {
    public static func encode(_ data: MemberDataExport.MemberData) throws -> Data {
        try encoder.encode(View(data))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return encoder
    }()

    struct View: Encodable {
        var exportedAt: Date
        var member: MemberView
        var faces: [Face]
        var checkins: [Checkin]
        var auditLog: [AuditEntry]

        init(_ data: MemberDataExport.MemberData) {
            exportedAt = data.exportedAt
            member = MemberView(data.member)
            faces = data.faces.map(Face.init)
            checkins = data.checkins.map {
                Checkin(
                    checkinId: $0.id, checkedInAt: $0.checkedInAt, distance: $0.distance, similarity: $0.similarity,
                    method: $0.method)
            }
            auditLog = data.audit.map(AuditEntry.init)
        }
    }

    /// A stored face: what made it, where it was in the photo and which photo (its keyed digest); never the template.
    struct Face: Encodable {
        var faceId: UUID
        var model: String
        var modelVersion: String
        var box: BoxView?
        var quality: [String: Double]
        /// The photo's keyed digest, hex (`TemplateKeys.photoDigest`): the same photo gives the same digest in the
        /// organisation, and nothing without its key.
        var photoDigest: String
        var createdAt: Date

        init(_ face: MemberStore.FaceRecord) {
            faceId = face.id
            model = face.model
            modelVersion = face.modelVersion
            box = BoxView(face.box)
            quality = face.quality
            photoDigest = face.photoDigest.map { String(format: "%02x", $0) }.joined()
            createdAt = face.createdAt
        }
    }

    struct Checkin: Encodable {
        var checkinId: UUID
        var checkedInAt: Date
        /// Nil for a manual check-in.
        var distance: Float?
        var similarity: Float?
        var method: String
    }

    struct AuditEntry: Encodable {
        var id: Int64
        var occurredAt: Date
        var action: String
        /// The staff account that did it (absent: the service itself, or an account deleted since).
        var actorUserId: UUID?
        /// The member's or one of their faces' id.
        var target: String?
        var details: JSONValue

        init(_ entry: MemberStore.AuditEntry) {
            id = entry.id
            occurredAt = entry.occurredAt
            action = entry.action
            actorUserId = entry.actor
            target = entry.target?.lowercased()
            details = JSONValue(text: entry.details)
        }
    }
}
