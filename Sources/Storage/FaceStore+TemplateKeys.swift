import Foundation
import PostgresNIO

extension FaceStore {
    /// A face's template as stored, with the key it is stored under (nil: plain).
    public struct StoredTemplate: Sendable {
        public var face: UUID
        public var organization: UUID
        public var template: [Float]
        public var keyID: String?
    }

    /// Up to `limit` templates of every model not stored under `keyID`, in face id order after `after` (a resumable
    /// walk).
    public func templates(notUnder keyID: String, after: UUID?, limit: Int) async throws -> [StoredTemplate] {
        let rows = try await database.query(
            """
            SELECT id, organization_id, embedding::real[], template_key_id FROM faces
            WHERE id > \(after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
              AND template_key_id IS DISTINCT FROM \(keyID)
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        return try rows.decode((UUID, UUID, [Float], String?).self).map {
            StoredTemplate(face: $0.0, organization: $0.1, template: $0.2, keyID: $0.3)
        }
    }

    /// Templates of every model per key they are stored under (nil: plain), and the photo digests still plain, in
    /// one pass over the table.
    public func keyCounts() async throws -> (templatesByKey: [String?: Int], plainPhotoDigests: Int) {
        let rows = try await database.query(
            """
            SELECT template_key_id, count(*)::int, (count(*) FILTER (WHERE photo_digest_key_id IS NULL))::int
            FROM faces GROUP BY template_key_id
            """, logger: logger)
        var counts: [String?: Int] = [:]
        var plain = 0
        for (key, count, plainDigests) in try rows.decode((String?, Int, Int).self) {
            counts[key] = count
            plain += plainDigests
        }
        return (counts, plain)
    }

    /// How many templates (of every model) are not stored under `keyID`.
    public func countTemplates(notUnder keyID: String) async throws -> Int {
        try await database.query(
            "SELECT count(*)::int FROM faces WHERE template_key_id IS DISTINCT FROM \(keyID)", logger: logger
        ).first(Int.self) ?? 0
    }

    /// Stores each face's template again under the current key, in one statement; a face deleted meanwhile, or no
    /// longer under the key it was read under, is left alone. Returns how many were replaced.
    @discardableResult
    public func rekey(_ stored: [StoredTemplate]) async throws -> Int {
        guard !stored.isEmpty else { return 0 }
        // Vectors travel as pgvector's text form (Float's description round-trips exactly); '' stands for plain.
        let ids = stored.map(\.face)
        let rekeyed = try stored.map { template in
            let plain = try templates.embedding(
                of: template.template, under: template.keyID, organization: template.organization)
            return "["
                + (try templates.template(of: plain, organization: template.organization)).map { "\($0)" }.joined(
                    separator: ",") + "]"
        }
        let previous = stored.map { $0.keyID ?? "" }
        let rows = try await database.query(
            """
            WITH changed AS (
                UPDATE faces f SET embedding = u.template::vector, template_key_id = \(templates.currentID)
                FROM unnest(\(ids)::uuid[], \(rekeyed)::text[], \(previous)::text[]) AS u(id, template, previous)
                WHERE f.id = u.id AND coalesce(f.template_key_id, '') = u.previous
                RETURNING 1
            )
            SELECT count(*)::int FROM changed
            """, logger: logger)
        return try rows.first(Int.self) ?? 0
    }
}

extension FaceStore {
    /// A sealed blob and the id of the key it is sealed under.
    public struct Sealed: Sendable {
        public var sealed: [UInt8]
        public var keyID: String?

        public init(sealed: [UInt8], keyID: String?) {
            self.sealed = sealed
            self.keyID = keyID
        }
    }

    /// A face whose photo digest is its plain SHA-256 (stored before digests were keyed), with the blobs sealed for it.
    public struct PlainDigestFace: Sendable {
        public var face: UUID
        public var organization: UUID
        public var member: UUID
        public var photoSHA256: [UInt8]
        public var thumbnail: Sealed?
        public var crop: Sealed?
    }

    /// Up to `limit` faces with a plain photo digest, in face id order after `after` (a resumable walk).
    public func plainPhotoDigests(after: UUID?, limit: Int) async throws -> [PlainDigestFace] {
        let rows = try await database.query(
            """
            SELECT id, organization_id, member_id, photo_digest, thumbnail, thumbnail_key_id, crop, crop_key_id
            FROM faces
            WHERE photo_digest_key_id IS NULL
              AND id > \(after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        return try rows.decode((UUID, UUID, UUID, ByteBuffer, ByteBuffer?, String?, ByteBuffer?, String?).self).map {
            PlainDigestFace(
                face: $0.0, organization: $0.1, member: $0.2, photoSHA256: Array(buffer: $0.3),
                thumbnail: $0.4.map { [keyID = $0.5] in Sealed(sealed: Array(buffer: $0), keyID: keyID) },
                crop: $0.6.map { [keyID = $0.7] in Sealed(sealed: Array(buffer: $0), keyID: keyID) })
        }
    }

    /// How many faces keep a plain photo digest.
    public func countPlainPhotoDigests() async throws -> Int {
        try await database.query(
            "SELECT count(*)::int FROM faces WHERE photo_digest_key_id IS NULL", logger: logger
        ).first(Int.self) ?? 0
    }

    /// Stores a face's keyed photo digest in place of its plain one, with its blobs sealed again for it, in one
    /// statement; false when the face has gone or is no longer plain meanwhile, or when the member has the same photo
    /// keyed already (the row is left plain).
    public func keyPhotoDigest(
        of face: PlainDigestFace, as digest: PhotoDigest, thumbnail: Sealed?, crop: Sealed?
    ) async throws -> Bool {
        do {
            let rows = try await database.query(
                """
                UPDATE faces SET photo_digest = \(digest.bytes.byteBuffer), photo_digest_key_id = \(digest.keyID),
                                 thumbnail = \(thumbnail?.sealed.byteBuffer), thumbnail_key_id = \(thumbnail?.keyID),
                                 crop = \(crop?.sealed.byteBuffer), crop_key_id = \(crop?.keyID)
                WHERE id = \(face.face) AND photo_digest_key_id IS NULL AND photo_digest = \(face.photoSHA256.byteBuffer)
                RETURNING 1
                """, logger: logger)
            return try rows.first(Int.self) != nil
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            return false
        }
    }
}
