import Foundation
import PostgresNIO
import TestSupport
import Testing
import VectorSearch

/// The in-memory index must give pgvector's exact answer (`ORDER BY embedding <=> q`, no ANN index) for the same
/// rows, loaded the way the gallery loads them: streamed from the database as `embedding::real[]`.
@Suite("Index parity with pgvector") struct PgvectorParityTests {
    static let rows = 100_000
    static let dimension = 128

    @Test("top-5 ids and distances equal pgvector exact search over 100k vectors (to 1e-5)")
    func exactParity() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let logger = TestDatabase.logger
                try await client.query("CREATE EXTENSION IF NOT EXISTS vector", logger: logger)
                try await client.query(
                    PostgresQuery(unsafeSQL: "CREATE TABLE items (id integer PRIMARY KEY, embedding vector(\(Self.dimension)) NOT NULL)"),
                    logger: logger)
                // Random vectors made by the database itself (seeded), so the test sends no 50 MB of literals.
                try await client.withConnection { connection in
                    try await connection.query("SELECT setseed(0.25)", logger: logger)
                    try await connection.query(
                        PostgresQuery(unsafeSQL: """
                            INSERT INTO items
                            SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, \(Self.dimension)) d
                                       WHERE i > 0)::vector
                            FROM generate_series(1, \(Self.rows)) i
                            """), logger: logger)
                }

                let index = VectorIndex<Int>(dimension: Self.dimension)
                let stream = try await client.query("SELECT id, embedding::real[] FROM items", logger: logger)
                for try await (id, embedding) in stream.decode((Int, [Float]).self) { index.insert(embedding, id: id) }
                #expect(index.count == Self.rows)

                var random = SplitMix64(seed: 7)
                for _ in 0..<10 {
                    let query = random.vector(Self.dimension)
                    let literal = "[" + query.map { "\($0)" }.joined(separator: ",") + "]"
                    var expected: [(id: Int, distance: Double)] = []
                    let rows = try await client.query(
                        "SELECT id, embedding <=> \(literal)::vector FROM items ORDER BY embedding <=> \(literal)::vector LIMIT 5",
                        logger: logger)
                    for try await (id, distance) in rows.decode((Int, Double).self) { expected.append((id, distance)) }
                    let found = index.search(query, k: 5)
                    #expect(found.map(\.id) == expected.map(\.id))
                    for (a, b) in zip(found, expected) { #expect(abs(Double(a.distance) - b.distance) < 1e-5) }
                }
            }
        }
    }
}
