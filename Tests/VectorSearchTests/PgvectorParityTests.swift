import Foundation
import Storage
import TestSupport
import Testing
import VectorSearch

/// The in-memory index must give pgvector's exact answer (`ORDER BY embedding <=> q`, no ANN index) for the same
/// rows, loaded the way the gallery loads them: streamed from the database as `embedding::real[]`.
@Suite("Index parity with pgvector") struct PgvectorParityTests {
    @Test("top-5 ids and distances equal pgvector exact search over 100k vectors (to 1e-5)")
    func exactParity() async throws {
        try await TestDatabase.withFreshDatabase { url in
            try await TestDatabase.withClient(url) { client in
                let table = SyntheticVectorTable(client: client, dimension: 128, logger: TestDatabase.logger)
                try await table.create(rows: 100_000, seed: 0.25)
                let index = VectorIndex<Int>(dimension: 128)
                try await table.forEachRow { id, embedding in index.insert(embedding, id: id) }
                #expect(index.count == 100_000)

                var random = SplitMix64(seed: 7)
                for _ in 0..<10 {
                    let query = random.vector(128)
                    let expected = try await table.nearest(query, k: 5)
                    let found = index.search(query, k: 5)
                    #expect(found.map(\.id) == expected.map(\.id))
                    for (a, b) in zip(found, expected) { #expect(abs(Double(a.distance) - b.distance) < 1e-5) }
                }
            }
        }
    }
}
