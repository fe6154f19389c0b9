import FaceEngine
import Foundation
import Gallery
import PostgresNIO
import Storage
import TestSupport
import Testing

/// Templates at rest are embeddings under a keyed rotation: every search answers as it did on the plain embeddings,
/// before, during and after `keys rotate`, while the stored vectors themselves change with the key.
@Suite("Templates at rest") struct TemplateKeyTests {
    static let keyA = [UInt8](repeating: 7, count: 32)  // TestDatabase.templateKeys
    static let keyB = [UInt8](repeating: 8, count: 32)

    @Test("a rotation keeps lengths and angles, undoes exactly, and depends on the key")
    func transform() throws {
        let a = TemplateKeys(key: Self.keyA), b = TemplateKeys(key: Self.keyB)
        #expect(a.currentID != b.currentID)
        var random = SplitMix64(seed: 31)
        for _ in 0..<50 {
            let u = random.vector(128), v = random.vector(128)
            let tu = try a.template(of: u), tv = try a.template(of: v)
            #expect(abs(faceDistance(tu, tv) - faceDistance(u, v)) < 1e-5)
            let length = { (x: [Float]) in x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            #expect(abs(length(tu) - length(u)) < 1e-4 * length(u))
            let back = try a.embedding(of: tu, under: a.currentID)
            #expect(zip(back, u).allSatisfy { abs($0 - $1) < 1e-5 })
            // The stored vector is unrelated to the embedding, and to its template under another key.
            #expect(faceDistance(tu, u) > 0.5)
            #expect(faceDistance(tu, try b.template(of: u)) > 0.5)
        }
        // Derived, not random: the same key gives the same rotation.
        let u = random.vector(128)
        #expect(try TemplateKeys(key: Self.keyA).template(of: u) == (try a.template(of: u)))
        #expect(throws: StorageError.unknownTemplateKey(b.currentID)) { try a.embedding(of: u, under: b.currentID) }
    }

    @Test("search results equal before, during and after re-keying (memory, pgvector exact and HNSW); templates change")
    func rekeying() async throws {
        try await GalleryFixture.with { fixture in
            let people = try await fixture.makeMembers(40)
            var random = SplitMix64(seed: 32)
            for i in 0..<300 {
                try await fixture.store.insert(fixture.newFace(member: people[i % people.count], embedding: random.vector(128)))
            }
            // Faces stored plain, before templates were protected.
            try await fixture.insertRandomFaces(100, members: people, seed: 0.3)
            let probes = (0..<8).map { _ in random.vector(128) }
            let keysB = TemplateKeys(key: Self.keyB, previousKeys: [Self.keyA])

            func answers(_ templates: TemplateKeys) async throws -> [[FaceNeighbour]] {
                var found: [[FaceNeighbour]] = []
                let memory = fixture.gallery(templates: templates)
                try await memory.reload()
                for backend in [SearchBackend.pgvectorExact, .pgvector] {
                    let gallery = fixture.gallery(backend: backend, templates: templates)
                    for probe in probes {
                        let expected = try await memory.nearestFaces(to: probe, in: fixture.organization, k: 5)
                        #expect(expected.count == 5)
                        let other = try await gallery.nearestFaces(to: probe, in: fixture.organization, k: 5)
                        #expect(other.map(\.face) == expected.map(\.face), "\(backend)")
                        found.append(expected)
                    }
                }
                return found
            }
            func stored() async throws -> [UUID: (template: [Float], key: String?)] {
                var rows: [UUID: ([Float], String?)] = [:]
                for try await (id, template, key) in try await fixture.client.query(
                    "SELECT id, embedding::real[], template_key_id FROM faces", logger: fixture.logger
                ).decode((UUID, [Float], String?).self) { rows[id] = (template, key) }
                return rows
            }
            func expectEqual(_ a: [[FaceNeighbour]], _ b: [[FaceNeighbour]]) {
                #expect(a.map { $0.map(\.face) } == b.map { $0.map(\.face) })
                for (x, y) in zip(a.joined(), b.joined()) { #expect(abs(x.distance - y.distance) < 1e-5) }
            }

            let before = try await answers(TestDatabase.templateKeys)
            let storedBefore = try await stored()
            #expect(storedBefore.values.filter { $0.key == nil }.count == 100)

            // Half way through a rotation to key B (A still known), three kinds of rows: plain, A and B.
            let storeB = FaceStore(database: TestDatabase.database(fixture.client), logger: fixture.logger, templates: keysB)
            let firstHalf = try await storeB.templates(notUnder: keysB.currentID, after: nil, limit: 200)
            #expect(try await storeB.rekey(firstHalf) == 200)
            #expect(Set(try await stored().values.map(\.key)).count == 3)
            expectEqual(try await answers(keysB), before)

            // Done: every template under B, each changed, none readable with A alone.
            let rest = try await storeB.templates(notUnder: keysB.currentID, after: firstHalf.last?.face, limit: 1000)
            #expect(try await storeB.rekey(rest) == 200)
            #expect(try await storeB.countTemplates(notUnder: keysB.currentID) == 0)
            #expect(try await storeB.rekey(firstHalf) == 0)  // a stale page changes nothing
            expectEqual(try await answers(keysB), before)
            let storedAfter = try await stored()
            #expect(storedAfter.count == 400)
            for (id, row) in storedAfter {
                #expect(row.key == keysB.currentID)
                #expect(faceDistance(row.template, storedBefore[id]!.template) > 0.5)
            }
            await #expect(throws: StorageError.unknownTemplateKey(keysB.currentID)) {
                try await fixture.gallery(templates: TemplateKeys(key: Self.keyA)).reload()
            }

            // The database refuses another embedding for a face unless its key changes with it.
            let someFace = try #require(storedAfter.keys.first)
            await #expect(throws: PSQLError.self) {
                try await fixture.client.query(
                    "UPDATE faces SET embedding = \(random.vector(128))::real[]::vector WHERE id = \(someFace)",
                    logger: fixture.logger)
            }
        }
    }
}
