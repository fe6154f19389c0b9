import Foundation
import Logging
import PostgresNIO

extension FaceStore {
    /// Whether the organisation's member with `externalID` already has a face (of `space`) of the photo with this
    /// SHA-256 (its digest under any key this service has, or plain): an import skips such a photo before any engine
    /// runs, so that running it again costs little and changes nothing.
    public func hasFace(externalID: String, organization: UUID, photoSHA256: [UInt8]) async throws -> Bool {
        let digests = try templates.photoDigests(of: photoSHA256, organization: organization).map(\.bytes.byteBuffer)
        let rows = try await database.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM faces f JOIN members m ON m.id = f.member_id AND m.organization_id = f.organization_id
                WHERE m.organization_id = \(organization) AND m.external_id = \(externalID)
                  AND f.photo_digest = ANY(\(digests))
                  AND (\(space?.model)::text IS NULL OR (f.model = \(space?.model) AND f.model_version = \(space?.version))))
            """, logger: logger)
        return try rows.first(Bool.self) ?? false
    }

    /// The organisation's faces (of `space`) of members whose external id is not among `externalIDs`: with the photos
    /// of an import's rows, the size of the gallery the import leads to, the same when it runs again.
    public func count(organization: UUID, excludingExternalIDs externalIDs: [String]) async throws -> Int {
        let rows = try await database.query(
            """
            SELECT count(*)::int FROM faces f JOIN members m ON m.id = f.member_id AND m.organization_id = f.organization_id
            WHERE m.organization_id = \(organization)
              AND (m.external_id IS NULL OR NOT (m.external_id = ANY(\(externalIDs))))
              AND (\(space?.model)::text IS NULL OR (f.model = \(space?.model) AND f.model_version = \(space?.version)))
            """, logger: logger)
        return try rows.first(Int.self) ?? 0
    }
}
