import Foundation
import PostgresNIO

extension FaceStore {
    /// A face's template as stored, with the key it is stored under (nil: plain).
    public struct StoredTemplate: Sendable {
        public var face: UUID
        public var template: [Float]
        public var keyID: String?
    }

    /// Up to `limit` templates of every model not stored under `keyID`, in face id order after `after` (a resumable
    /// walk).
    public func templates(notUnder keyID: String, after: UUID?, limit: Int) async throws -> [StoredTemplate] {
        let rows = try await database.query(
            """
            SELECT id, embedding::real[], template_key_id FROM faces
            WHERE id > \(after ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
              AND template_key_id IS DISTINCT FROM \(keyID)
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        return try rows.decode((UUID, [Float], String?).self).map { StoredTemplate(face: $0.0, template: $0.1, keyID: $0.2) }
    }

    /// Templates of every model per key they are stored under (nil: plain), in one pass over the table.
    public func templateCountsByKey() async throws -> [String?: Int] {
        let rows = try await database.query(
            "SELECT template_key_id, count(*)::int FROM faces GROUP BY template_key_id", logger: logger)
        var counts: [String?: Int] = [:]
        for (key, count) in try rows.decode((String?, Int).self) { counts[key] = count }
        return counts
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
            let plain = try templates.embedding(of: template.template, under: template.keyID)
            return "[" + (try templates.template(of: plain)).map { "\($0)" }.joined(separator: ",") + "]"
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
