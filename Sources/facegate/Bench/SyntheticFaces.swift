import Foundation
import Logging
import PostgresNIO
import Storage

/// Synthetic members with one random face each, made by the database itself, to size a benchmark's gallery
/// (`facegate bench seed`). Only organisations whose name starts with `bench` are filled, so a mistyped id cannot
/// pour synthetic people into a real tenant.
struct SyntheticFaces: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public enum SeedError: Error, CustomStringConvertible {
        case notABenchOrganization(UUID)
        public var description: String {
            switch self {
            case .notABenchOrganization(let id):
                "organisation \(id) does not exist or its name does not start with 'bench'"
            }
        }
    }

    /// Adds synthetic members and faces until the organisation has `total` faces of `space` (enrolled ones count), in
    /// statements of at most `batch` rows; returns how many were added. The faces are stored as `space`'s, the model
    /// the service under test runs (it searches no other); their members' external ids (`synthetic-N`) tell them
    /// apart. Each statement is one transaction and, past 1000 rows, one `reload` notification for the running
    /// instances.
    @discardableResult
    public func topUp(
        organization: UUID, to total: Int, space: EmbeddingSpace, dimension: Int, templateKeyID: String?,
        batch: Int = 250_000
    ) async throws -> Int {
        // The organisation's name, its faces, and the last synthetic member's number ('synthetic-N': external ids are
        // unique per organisation).
        let rows = try await client.query(
            """
            SELECT o.name,
                   (SELECT count(*)::int8 FROM faces f WHERE f.organization_id = o.id
                    AND f.model = \(space.model) AND f.model_version = \(space.version)),
                   (SELECT coalesce(max(substr(m.external_id, 11)::int8), 0) FROM members m
                    WHERE m.organization_id = o.id AND m.external_id LIKE 'synthetic-%')
            FROM organizations o WHERE o.id = \(organization)
            """, logger: logger)
        var found: (name: String, faces: Int, lastNumber: Int)?
        for try await row in rows.decode((String, Int, Int).self) { found = row }
        guard let found, found.name.hasPrefix("bench") else { throw SeedError.notABenchOrganization(organization) }
        let existing = found.faces, nextNumber = found.lastNumber + 1

        var added = 0
        while existing + added < total {
            let rows = min(batch, total - existing - added)
            let first = nextNumber + added, last = first + rows - 1
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH new_members AS (
                            INSERT INTO members (organization_id, name, external_id)
                            SELECT $1, 'Synthetic member ' || i, 'synthetic-' || i FROM generate_series($2::int8, $3::int8) i
                            RETURNING id
                        )
                        INSERT INTO faces (organization_id, member_id, embedding, template_key_id, model, model_version,
                                           photo_digest, photo_digest_key_id)
                        SELECT $1, m.id, \(SyntheticVectorTable.randomVector(dimension: dimension, perRowOf: "m.id")),
                               $6, $4, $5, sha256(m.id::text::bytea), $6
                        FROM new_members m
                        """, binds: Self.binds(organization, first, last, space, templateKeyID)),
                logger: logger)
            added += rows
        }
        return added
    }

    /// Drops the faces table's HNSW index: inserting a million rows into it takes hours on two cores, and the
    /// in-memory search does not use it. Only for a throw-away benchmark database.
    public func dropHNSWIndex() async throws {
        try await client.query("DROP INDEX IF EXISTS faces_embedding_hnsw", logger: logger)
    }

    private static func binds(
        _ organization: UUID, _ first: Int, _ last: Int, _ space: EmbeddingSpace, _ templateKeyID: String?
    ) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(organization)
        binds.append(first)
        binds.append(last)
        binds.append(space.model)
        binds.append(space.version)
        binds.append(templateKeyID)
        return binds
    }
}
