import FaceEngine
import Foundation
import Gallery
import ImageDecoding
import Storage
import TestSupport
import Testing

/// The in-memory index gives pgvector's exact answer (`ORDER BY embedding <=> q` with no ANN index) for the same
/// rows of the faces table: same faces, same order, distances equal to 1e-5.
@Suite("Search parity with pgvector", .requiresDatabase) struct ParityTests {
    static func expectSameAnswer(
        _ memory: FaceGallery, _ exact: FaceGallery, query: [Float], organization: UUID, k: Int = 5
    ) async throws {
        let found = try await memory.nearestFaces(to: query, in: organization, k: k)
        let expected = try await exact.nearestFaces(to: query, in: organization, k: k)
        #expect(found.count == min(k, expected.count) && !found.isEmpty)
        #expect(found.map(\.face) == expected.map(\.face))
        for (a, b) in zip(found, expected) {
            #expect(abs(a.distance - b.distance) < 1e-5, "\(a.distance) vs \(b.distance)")
        }
    }

    @Test("random embeddings: 100k faces, top-5 equal to pgvector exact")
    func randomEmbeddings() async throws {
        try await GalleryFixture.with { fixture in
            let people = try await fixture.makeMembers(1000)
            var random = SplitMix64(seed: 11)
            // Exact search is compared here; maintaining the HNSW index row by row would take minutes.
            try await fixture.client.query("DROP INDEX faces_embedding_hnsw", logger: fixture.logger)
            try await fixture.insertRandomFaces(100_000, members: people, seed: 0.25)
            let memory = fixture.gallery()
            try await memory.reload()
            #expect(memory.indexedFaces == 100_000)
            let exact = fixture.gallery(backend: .pgvectorExact)
            for _ in 0..<10 {
                try await Self.expectSameAnswer(
                    memory, exact, query: random.vector(128), organization: fixture.organization)
            }
        }
    }

    @Test("the HNSW backend finds a stored face given its own embedding, filtered to the organisation")
    func hnswBackend() async throws {
        try await GalleryFixture.with { fixture in
            let people = try await fixture.makeMembers(50)
            try await fixture.insertRandomFaces(3000, members: people, seed: 0.5)
            let other = try await OrganizationStore(
                database: TestDatabase.database(fixture.client), logger: fixture.logger
            )
            .create(name: "Elsewhere").id
            let memory = fixture.gallery(), hnsw = fixture.gallery(backend: .pgvector)
            try await memory.reload()
            var random = SplitMix64(seed: 12)
            for _ in 0..<5 {
                let stored = try #require(
                    try await memory.nearestFaces(to: random.vector(128), in: fixture.organization, k: 1).first)
                let embedding = try #require(
                    try await fixture.store.embeddings(of: [stored.face.face])[stored.face.face])
                let top = try await hnsw.nearestFaces(to: embedding, in: fixture.organization, k: 3)
                #expect(top.first?.face == stored.face)
                #expect(top.count == 3 && top[0].distance < 1e-5)
                #expect(try await hnsw.nearestFaces(to: embedding, in: other, k: 3).isEmpty)
            }
        }
    }

    @Test("real embeddings of LFW photos: top-5 equal to pgvector exact", .requiresFacesAndModels)
    func realEmbeddings() async throws {
        let rows = try CSVTable(path: TestEnvironment.facesRoot + "/lfw/manifest.csv").rows
        let files = rows.compactMap { row -> (String, String)? in
            guard let file = row["file"], let identity = row["identity"], row["category"] != "identity_singleton" else {
                return nil
            }
            return (file, identity)
        }.prefix(160)
        let engine = try DlibRecognizer(models: FaceModels(directory: TestEnvironment.modelsDirectory))
        let decoder = ImageDecoder()
        var embeddings: [(identity: String, embedding: [Float])] = []
        for (file, identity) in files {
            let image = try decoder.decode(TestEnvironment.photo("lfw/" + file))
            if let face = try engine.faceEncodings(in: image, limit: 1).first {
                embeddings.append((identity, face.embedding))
            }
        }
        let enrolled = Array(embeddings.dropLast(20)), probes = embeddings.suffix(20)
        try await GalleryFixture.with { fixture in
            let identities = Array(Set(enrolled.map(\.identity)))
            let people = try await fixture.makeMembers(identities.count)
            let memberOf = Dictionary(uniqueKeysWithValues: zip(identities, people))
            let memory = fixture.gallery()
            try await memory.reload()
            for (i, entry) in enrolled.enumerated() {
                _ = try await memory.add(
                    fixture.newFace(member: memberOf[entry.identity]!, embedding: entry.embedding, photo: "\(i)"))
            }
            let exact = fixture.gallery(backend: .pgvectorExact)
            for probe in probes {
                try await Self.expectSameAnswer(
                    memory, exact, query: probe.embedding, organization: fixture.organization)
            }
        }
    }
}
