import Foundation
import Logging
import PostgresNIO

/// A face to store: an embedding of one member's photo and what it was made with.
public struct NewFace: Sendable {
    public var organizationID: UUID
    public var memberID: UUID
    public var embedding: [Float]
    public var model: String
    public var modelVersion: String
    /// Quality measures (face size, sharpness, yaw, …) kept for audits and re-enrolment decisions.
    public var quality: [String: Double]
    /// x, y, width, height of the face in the photo.
    public var box: [Int]?
    /// The photo's keyed digest (`TemplateKeys.photoDigest`): the same photo enrolled twice for one member is one face.
    public var photoDigest: PhotoDigest
    /// The same photo's digests under the other keys this service has, and plain: a row stored under one of them
    /// before is the same photo too (`StorageError.duplicateFace`).
    public var earlierPhotoDigests: [[UInt8]]
    /// The aligned face chip, sealed by the caller (the service encrypts it before it reaches the database).
    public var sealedThumbnail: [UInt8]?
    /// The id of the key the thumbnail is sealed under.
    public var thumbnailKeyID: String?
    /// The photo around the face (wide margin, longer side ≤ 320 px) that any model can embed again, sealed by the
    /// caller, and its key's id.
    public var sealedCrop: [UInt8]?
    public var cropKeyID: String?
    /// The account that enrolled it, for the audit log entry written with the face.
    public var enrolledBy: UUID?

    public init(
        organizationID: UUID, memberID: UUID, embedding: [Float], model: String, modelVersion: String,
        quality: [String: Double] = [:], box: [Int]? = nil, photoDigest: PhotoDigest,
        earlierPhotoDigests: [[UInt8]] = [], sealedThumbnail: [UInt8]? = nil,
        thumbnailKeyID: String? = nil, sealedCrop: [UInt8]? = nil, cropKeyID: String? = nil, enrolledBy: UUID? = nil
    ) {
        self.thumbnailKeyID = thumbnailKeyID
        self.sealedCrop = sealedCrop
        self.cropKeyID = cropKeyID
        self.organizationID = organizationID
        self.memberID = memberID
        self.embedding = embedding
        self.model = model
        self.modelVersion = modelVersion
        self.quality = quality
        self.box = box
        self.photoDigest = photoDigest
        self.earlierPhotoDigests = earlierPhotoDigests
        self.sealedThumbnail = sealedThumbnail
        self.enrolledBy = enrolledBy
    }
}

/// The `faces` table: the one place that writes and reads embeddings in SQL. Writes use bound parameters only; reads
/// stream `embedding::real[]`. Embeddings are stored as templates under the current key of `templates` and read back
/// plain: above this store, nothing sees a template. With a `space`, every read that compares or counts embeddings
/// (the gallery's loads, checks and searches) sees only the faces of that model and version.
public struct FaceStore: Sendable {
    let database: Database
    let logger: Logger
    public let templates: TemplateKeys
    public let space: EmbeddingSpace?

    public init(database: Database, logger: Logger, templates: TemplateKeys, space: EmbeddingSpace? = nil) {
        self.database = database
        self.logger = logger
        self.templates = templates
        self.space = space
    }

    /// Stores one face and its `face_enrolled` audit entry in one statement (both or neither). Throws
    /// `StorageError.memberNotFound` when the member is not in that organisation and `.duplicateFace` when this photo
    /// is already one of the member's faces.
    ///
    /// `copying`: the face this one is another model's embedding of (`facegate faces reembed`); nothing is stored,
    /// and nil returned, when that face is gone (deleted meanwhile by staff: the photo must not come back), and the
    /// audit entry says `face_reembedded`. A new face of a model other than the activated one throws
    /// `.modelNotActive`.
    @discardableResult
    public func insert(_ face: NewFace, copying source: UUID? = nil) async throws -> FaceRef? {
        let quality = String(decoding: try JSONEncoder().encode(face.quality), as: UTF8.self)
        let box = try face.box.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let template = try templates.template(of: face.embedding, organization: face.organizationID)
        // The same photo under an earlier key (or plain) is a duplicate the unique constraint cannot see.
        let earlier = face.earlierPhotoDigests.filter { $0 != face.photoDigest.bytes }.map(\.byteBuffer)
        do {
            let rows = try await database.query(
                """
                WITH earlier AS (
                    SELECT EXISTS (SELECT 1 FROM faces WHERE member_id = \(face.memberID) AND model = \(face.model)
                                   AND model_version = \(face.modelVersion) AND photo_digest = ANY(\(earlier))) AS found
                ), face AS (
                    INSERT INTO faces (organization_id, member_id, embedding, template_key_id, model, model_version,
                                       quality, box, photo_digest, photo_digest_key_id, thumbnail, thumbnail_key_id,
                                       crop, crop_key_id)
                    SELECT \(face.organizationID), \(face.memberID), \(template)::real[]::vector, \(templates.currentID),
                           \(face.model), \(face.modelVersion), \(quality)::jsonb, \(box)::jsonb,
                           \(face.photoDigest.bytes.byteBuffer), \(face.photoDigest.keyID),
                           \(face.sealedThumbnail?.byteBuffer), \(face.thumbnailKeyID),
                           \(face.sealedCrop?.byteBuffer), \(face.cropKeyID)
                    WHERE CASE WHEN \(source)::uuid IS NULL
                        -- Once another model is activated, no face of this one is enrolled (see ModelActivationStore).
                        THEN NOT EXISTS (SELECT 1 FROM face_model_activation a
                                         WHERE a.model <> \(face.model) OR a.model_version <> \(face.modelVersion))
                        ELSE EXISTS (SELECT 1 FROM faces s WHERE s.id = \(source) FOR SHARE) END
                      AND NOT (SELECT found FROM earlier)
                    RETURNING id, organization_id
                ), audit AS (
                    INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                    SELECT organization_id, \(face.enrolledBy),
                           CASE WHEN \(source)::uuid IS NULL THEN 'face_enrolled' ELSE 'face_reembedded' END,
                           \(face.memberID.uuidString) FROM face
                )
                SELECT (SELECT id FROM face), (SELECT found FROM earlier)
                """, logger: logger)
            let (inserted, duplicate) = try rows.firstRow((UUID?, Bool).self) ?? (nil, false)
            guard let id = inserted else {
                if duplicate { throw StorageError.duplicateFace }
                if source == nil { throw StorageError.modelNotActive }
                return nil
            }
            return FaceRef(face: id, member: face.memberID)
        } catch let error as PSQLError {
            switch error.serverInfo?[.sqlState] {
            case PostgresError.Code.foreignKeyViolation.raw: throw StorageError.memberNotFound
            case PostgresError.Code.uniqueViolation.raw: throw StorageError.duplicateFace
            default: throw error
            }
        }
    }

    /// Deletes one face of the organisation (and of `member`, when given) together with the same photo's faces of
    /// other models (made by `facegate faces reembed`: a photo staff removed must not come back with the next model);
    /// nil when there is no such face there.
    /// The `face_deleted` audit entry (by `actor`) is written in the same statement.
    public func delete(face: UUID, organization: UUID, member: UUID? = nil, actor: UUID? = nil) async throws -> FaceRef?
    {
        let rows = try await database.query(
            """
            WITH chosen AS (
                SELECT member_id, photo_digest FROM faces WHERE id = \(face) AND organization_id = \(organization)
                    AND (\(member)::uuid IS NULL OR member_id = \(member))
            ), deleted AS (
                DELETE FROM faces f USING chosen
                WHERE f.organization_id = \(organization) AND f.member_id = chosen.member_id
                    AND f.photo_digest = chosen.photo_digest
                RETURNING f.member_id
            ), audit AS (
                INSERT INTO audit_log (organization_id, actor_user_id, action, target)
                SELECT \(organization), \(actor), 'face_deleted', \(face.uuidString) WHERE EXISTS (SELECT 1 FROM deleted)
            )
            SELECT member_id FROM deleted
            """, logger: logger)
        return try rows.first(UUID.self).map { FaceRef(face: face, member: $0) }
    }

    /// Streams every face (of one organisation, or all) to `body` in database order. For the gallery's loads, off the
    /// request path: it streams (a million faces are never all in one array), waits for a connection unbounded and
    /// lifts the server's statement bound for its transaction (a large gallery streams for longer).
    public func forEachFace(
        organization: UUID? = nil, _ body: (_ organization: UUID, FaceRef, [Float]) throws -> Void
    ) async throws {
        try await database.client.transaction(logger: logger) { connection in
            try await connection.query(Database.offRequestPath, logger: logger)
            let rows = try await connection.query(
                """
                SELECT organization_id, id, member_id, embedding::real[], template_key_id FROM faces
                WHERE (\(organization)::uuid IS NULL OR organization_id = \(organization))
                  AND (\(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version)))
                """, logger: logger)
            for try await (org, id, member, template, key) in rows.decode((UUID, UUID, UUID, [Float], String?).self) {
                try body(
                    org, FaceRef(face: id, member: member),
                    try templates.embedding(of: template, under: key, organization: org))
            }
        }
    }

    /// The embeddings of the faces among `ids` that still exist.
    public func embeddings(of ids: [UUID]) async throws -> [UUID: [Float]] {
        guard !ids.isEmpty else { return [:] }
        var found: [UUID: [Float]] = [:]
        let rows = try await database.query(
            """
            SELECT id, organization_id, embedding::real[], template_key_id FROM faces
            WHERE id = ANY(\(ids))
              AND (\(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version)))
            """, logger: logger)
        for (id, organization, template, key) in try rows.decode((UUID, UUID, [Float], String?).self) {
            found[id] = try templates.embedding(of: template, under: key, organization: organization)
        }
        return found
    }

    /// Number of faces per organisation (organisations without faces are absent): cheaper than `summaries`.
    public func counts() async throws -> [UUID: Int] {
        var result: [UUID: Int] = [:]
        let rows = try await database.query(
            """
            SELECT organization_id, count(*) FROM faces
            WHERE \(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version))
            GROUP BY organization_id
            """, logger: logger)
        for (org, count) in try rows.decode((UUID, Int).self) { result[org] = count }
        return result
    }

    /// Faces per model and version over every organisation (for `/ready` and the start-up check).
    public func countsBySpace() async throws -> [EmbeddingSpace: Int] {
        var result: [EmbeddingSpace: Int] = [:]
        let rows = try await database.query(
            "SELECT model, model_version, count(*)::int FROM faces GROUP BY model, model_version", logger: logger)
        for (model, version, count) in try rows.decode((String, String, Int).self) {
            result[EmbeddingSpace(model: model, version: version)] = count
        }
        return result
    }

    /// Count and id checksum per organisation (organisations without faces are absent).
    public func summaries() async throws -> [UUID: FaceSummary] {
        var result: [UUID: FaceSummary] = [:]
        let rows = try await database.query(
            """
            SELECT organization_id, count(*),
                   ((sum(('x' || left(replace(id::text, '-', ''), 16))::bit(64)::bigint) % 18446744073709551616
                     + 18446744073709551616) % 18446744073709551616)::text
            FROM faces
            WHERE (\(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version)))
            GROUP BY organization_id
            """, logger: logger)
        for (org, count, checksum) in try rows.decode((UUID, Int, String).self) {
            result[org] = FaceSummary(count: count, checksum: UInt64(checksum) ?? 0)
        }
        return result
    }

    /// How pgvector searches: its exact scan, or the HNSW index with this `hnsw.ef_search`.
    public enum SearchMethod: Sendable, Equatable {
        case exact
        case hnsw(efSearch: Int)
    }

    /// The `k` faces of the organisation nearest to `embedding` by cosine distance, nearest first, as pgvector finds
    /// them (`ORDER BY embedding <=> q`). `keys`: the keys the organisation's templates are stored under (nil: plain;
    /// the current one is always searched), each searched with the probe under that key, in one statement (one
    /// snapshot: a template being re-keyed meanwhile is seen once).
    public func nearestFaces(
        to embedding: [Float], organization: UUID, k: Int, method: SearchMethod, keys: Set<String?> = []
    ) async throws -> [(face: FaceRef, distance: Float)] {
        var binds = PostgresBindings()
        binds.append(organization)
        binds.append(space?.model)
        binds.append(space?.version)
        binds.append(k)
        var branches: [String] = []
        for key in keys.union([templates.currentID]).sorted(by: { ($0 ?? "") < ($1 ?? "") }) {
            binds.append(try templates.template(of: embedding, under: key, organization: organization))
            let probe = "$\(binds.count)::real[]::vector"
            let keyCondition: String
            if let key {
                binds.append(key)
                keyCondition = "template_key_id = $\(binds.count)"
            } else {
                keyCondition = "template_key_id IS NULL"
            }
            branches.append(
                """
                (SELECT id, member_id, (embedding <=> \(probe))::real AS distance FROM faces
                 WHERE organization_id = $1 AND ($2::text IS NULL OR (model = $2 AND model_version = $3)) AND \(keyCondition)
                 ORDER BY embedding <=> \(probe) LIMIT $4)
                """)
        }
        let query = PostgresQuery(
            unsafeSQL: branches.count == 1
                ? branches[0]
                : """
                SELECT id, member_id, distance FROM (\(branches.joined(separator: " UNION ALL "))) found
                ORDER BY distance LIMIT $4
                """, binds: binds)
        return try await database.transaction(logger: logger) { connection in
            switch method {
            case .exact:
                try await connection.query("SET LOCAL enable_indexscan = off", logger: logger)
            case .hnsw(let efSearch):
                // Without iterative scans the organisation filter would drop results after the first ef_search.
                try await connection.query(
                    "SELECT set_config('hnsw.ef_search', \(String(efSearch)), true)", logger: logger)
                try await connection.query("SET LOCAL hnsw.iterative_scan = strict_order", logger: logger)
            }
            let rows = try await connection.query(query, logger: logger)
            var found: [(face: FaceRef, distance: Float)] = []
            for try await (id, member, distance) in rows.decode((UUID, UUID, Float).self) {
                found.append((FaceRef(face: id, member: member), distance))
            }
            return found
        }
    }

    /// The organisation's faces (in `space`) per key their templates are stored under (nil: plain).
    public func countsByTemplateKey(organization: UUID) async throws -> [String?: Int] {
        let rows = try await database.query(
            """
            SELECT template_key_id, count(*)::int FROM faces
            WHERE organization_id = \(organization)
              AND (\(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version)))
            GROUP BY template_key_id
            """, logger: logger)
        var result: [String?: Int] = [:]
        for (key, count) in try rows.decode((String?, Int).self) { result[key] = count }
        return result
    }

    /// The declared width of `faces.embedding` (nil before the gallery migration).
    public func embeddingColumnDimensions() async throws -> Int? {
        let rows = try await database.query(
            """
            SELECT atttypmod FROM pg_attribute
            WHERE attrelid = to_regclass('faces') AND attname = 'embedding' AND NOT attisdropped
            """, logger: logger)
        return try rows.first(Int32.self).map(Int.init)
    }
}

extension Array where Element == UInt8 {
    var byteBuffer: ByteBuffer { ByteBuffer(bytes: self) }
}

extension FaceStore {
    /// A stored face as the API lists it (no embedding).
    public struct StoredFace: Sendable, Equatable {
        public var id: UUID
        public var memberID: UUID
        public var box: [Int]?
        public var quality: [String: Double]
        public var createdAt: Date
    }

    /// The member's faces (of `space`), oldest first.
    public func faces(of member: UUID, organization: UUID) async throws -> [StoredFace] {
        var found: [StoredFace] = []
        let rows = try await database.query(
            """
            SELECT id, member_id, box::text, quality::text, created_at FROM faces
            WHERE member_id = \(member) AND organization_id = \(organization)
              AND (\(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version)))
            ORDER BY created_at, id
            """, logger: logger)
        for (id, member, box, quality, created) in try rows.decode((UUID, UUID, String?, String, Date).self) {
            found.append(
                StoredFace(
                    id: id, memberID: member,
                    box: box.flatMap { try? JSONDecoder().decode([Int].self, from: Data($0.utf8)) },
                    quality: (try? JSONDecoder().decode([String: Double].self, from: Data(quality.utf8))) ?? [:],
                    createdAt: created))
        }
        return found
    }

    /// The embeddings of the member's faces.
    public func embeddings(of member: UUID, organization: UUID) async throws -> [[Float]] {
        try await enrolledFaces(of: member, organization: organization).map(\.embedding)
    }

    /// The member's faces: each one's id and embedding.
    public func enrolledFaces(of member: UUID, organization: UUID) async throws -> [(id: UUID, embedding: [Float])] {
        var found: [(id: UUID, embedding: [Float])] = []
        let rows = try await database.query(
            """
            SELECT id, embedding::real[], template_key_id FROM faces
            WHERE member_id = \(member) AND organization_id = \(organization)
              AND (\(space?.model)::text IS NULL OR (model = \(space?.model) AND model_version = \(space?.version)))
            """, logger: logger)
        for (id, template, key) in try rows.decode((UUID, [Float], String?).self) {
            found.append((id, try templates.embedding(of: template, under: key, organization: organization)))
        }
        return found
    }

    /// A sealed blob (thumbnail or crop) with what it is bound to: its face's row identity and the key it is sealed
    /// under.
    public struct SealedThumbnail: Sendable {
        public var face: UUID
        public var organization: UUID
        public var member: UUID
        /// The photo digest's bytes as stored (what the blob is sealed for).
        public var photoDigest: [UInt8]
        public var sealed: [UInt8]
        public var keyID: String?
    }

    /// The sealed thumbnail of one of the member's faces (nil: no such face, or stored without one).
    public func sealedThumbnail(face: UUID, member: UUID, organization: UUID) async throws -> SealedThumbnail? {
        var binds = PostgresBindings()
        binds.append(face)
        binds.append(member)
        binds.append(organization)
        return try await sealedBlobs(.thumbnail, where: "id = $1 AND member_id = $2 AND organization_id = $3", binds)
            .first
    }

    /// The sealed columns of a face: the thumbnail shown to staff and the crop models embed again. Each is sealed
    /// for its own purpose (`BiometricSealer`) with its key's id beside it.
    public enum SealedColumn: String, Sendable, CaseIterable {
        case thumbnail, crop

        var keyColumn: String { rawValue + "_key_id" }
    }

    /// Up to `limit` blobs of `column` not sealed under `keyID`, in face id order after `after` (a resumable walk).
    public func sealed(
        _ column: SealedColumn, notSealedUnder keyID: String, after: UUID?, limit: Int
    ) async throws -> [SealedThumbnail] {
        var binds = PostgresBindings()
        binds.append(after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        binds.append(keyID)
        binds.append(limit)
        return try await sealedBlobs(
            column, where: "id > $1 AND \(column.keyColumn) IS DISTINCT FROM $2 ORDER BY id LIMIT $3", binds)
    }

    /// How many blobs of `column` are not sealed under `keyID`.
    public func countSealed(_ column: SealedColumn, notSealedUnder keyID: String) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(keyID)
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT count(*)::int FROM faces WHERE \(column.rawValue) IS NOT NULL AND \(column.keyColumn) IS DISTINCT FROM $1
                """, binds: binds)
        return try await database.query(query, logger: logger).first(Int.self) ?? 0
    }

    /// Replaces a face's blob of `column` with `sealed` under `keyID`, unless the face has gone meanwhile.
    public func replaceSealed(_ column: SealedColumn, face: UUID, sealed: [UInt8], keyID: String) async throws {
        var binds = PostgresBindings()
        binds.append(sealed.byteBuffer)
        binds.append(keyID)
        binds.append(face)
        let query = PostgresQuery(
            unsafeSQL: "UPDATE faces SET \(column.rawValue) = $1, \(column.keyColumn) = $2 WHERE id = $3", binds: binds)
        try await database.query(query, logger: logger)
    }

    /// Column names come from `SealedColumn` only; every value is bound.
    private func sealedBlobs(
        _ column: SealedColumn, where condition: String, _ binds: PostgresBindings
    ) async throws -> [SealedThumbnail] {
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT id, organization_id, member_id, photo_digest, \(column.rawValue), \(column.keyColumn) FROM faces
                WHERE \(column.rawValue) IS NOT NULL AND \(condition)
                """, binds: binds)
        let rows = try await database.query(query, logger: logger)
        return try rows.decode((UUID, UUID, UUID, ByteBuffer, ByteBuffer, String?).self).map {
            SealedThumbnail(
                face: $0.0, organization: $0.1, member: $0.2, photoDigest: Array(buffer: $0.3),
                sealed: Array(buffer: $0.4), keyID: $0.5)
        }
    }
}

extension FaceStore {
    /// A face of another model whose photo `into` has no face of yet, with what its new face copies.
    public struct ReembedSource: Sendable {
        public var face: UUID
        public var organization: UUID
        public var member: UUID
        public var photoDigest: PhotoDigest
        public var crop: [UInt8]
        public var cropKeyID: String?
        public var thumbnail: [UInt8]?
        public var thumbnailKeyID: String?
        public var box: [Int]?
    }

    /// Faces with a crop, of any other model, whose photo has no face of `space` yet: up to `limit`, in face id order
    /// after `after` (a resumable walk).
    public func facesToReembed(into space: EmbeddingSpace, after: UUID?, limit: Int) async throws -> [ReembedSource] {
        let rows = try await database.query(
            """
            SELECT f.id, f.organization_id, f.member_id, f.photo_digest, f.photo_digest_key_id, f.crop, f.crop_key_id,
                   f.thumbnail, f.thumbnail_key_id, f.box::text
            FROM faces f
            WHERE f.crop IS NOT NULL AND f.id > \(after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
              AND NOT (f.model = \(space.model) AND f.model_version = \(space.version))
              AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.member_id = f.member_id AND g.photo_digest = f.photo_digest
                              AND g.model = \(space.model) AND g.model_version = \(space.version))
            ORDER BY f.id LIMIT \(limit)
            """, logger: logger)
        let decoded = try rows.decode(
            (UUID, UUID, UUID, ByteBuffer, String?, ByteBuffer, String?, ByteBuffer?, String?, String?).self)
        return decoded.map {
            ReembedSource(
                face: $0.0, organization: $0.1, member: $0.2,
                photoDigest: PhotoDigest(bytes: Array(buffer: $0.3), keyID: $0.4),
                crop: Array(buffer: $0.5), cropKeyID: $0.6, thumbnail: $0.7.map { Array(buffer: $0) },
                thumbnailKeyID: $0.8,
                box: $0.9.flatMap { try? JSONDecoder().decode([Int].self, from: Data($0.utf8)) })
        }
    }

    /// How many faces `facesToReembed(into:)` walks over.
    public func countToReembed(into space: EmbeddingSpace) async throws -> Int {
        let rows = try await database.query(
            """
            SELECT count(*)::int FROM faces f
            WHERE f.crop IS NOT NULL AND NOT (f.model = \(space.model) AND f.model_version = \(space.version))
              AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.member_id = f.member_id AND g.photo_digest = f.photo_digest
                              AND g.model = \(space.model) AND g.model_version = \(space.version))
            """, logger: logger)
        return try rows.first(Int.self) ?? 0
    }

    /// A member with faces that `space` cannot be given without the member's photos again (enrolled before crops
    /// were kept): staff must register them again.
    public struct MemberToReregister: Sendable, Equatable {
        public var organization: UUID
        public var member: UUID
        public var name: String
        public var photos: Int
    }

    public func membersToReregister(for space: EmbeddingSpace) async throws -> [MemberToReregister] {
        let rows = try await database.query(
            """
            SELECT m.organization_id, m.id, m.name, count(DISTINCT f.photo_digest)::int
            FROM faces f JOIN members m ON m.id = f.member_id AND m.organization_id = f.organization_id
            WHERE NOT (f.model = \(space.model) AND f.model_version = \(space.version))
              AND NOT EXISTS (SELECT 1 FROM faces g WHERE g.member_id = f.member_id AND g.photo_digest = f.photo_digest
                              AND g.model = \(space.model) AND g.model_version = \(space.version))
              AND NOT EXISTS (SELECT 1 FROM faces c WHERE c.member_id = f.member_id AND c.photo_digest = f.photo_digest
                              AND c.crop IS NOT NULL)
            GROUP BY m.organization_id, m.id, m.name ORDER BY m.organization_id, m.name, m.id
            """, logger: logger)
        return try rows.decode((UUID, UUID, String, Int).self).map {
            MemberToReregister(organization: $0.0, member: $0.1, name: $0.2, photos: $0.3)
        }
    }
}
