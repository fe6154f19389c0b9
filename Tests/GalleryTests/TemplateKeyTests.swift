import Crypto
import FaceEngine
import Foundation
import Gallery
import PostgresNIO
import Storage
import TestSupport
import Testing

/// Templates at rest are embeddings under a keyed rotation: every search answers as it did on the plain embeddings,
/// before, during and after `keys rotate`, while the stored vectors themselves change with the key.
@Suite("Templates at rest", .requiresDatabase) struct TemplateKeyTests {
    static let keyA = [UInt8](repeating: 7, count: 32)  // TestDatabase.templateKeys
    static let keyB = [UInt8](repeating: 8, count: 32)

    @Test("a rotation keeps lengths and angles, undoes exactly, and depends on the key and the organisation")
    func transform() throws {
        let a = TemplateKeys(key: Self.keyA), b = TemplateKeys(key: Self.keyB)
        let gym = UUID(), other = UUID()
        #expect(a.currentID != b.currentID)
        #expect(a.currentID == "org:" + TemplateKeys.id(of: Self.keyA))
        var random = SplitMix64(seed: 31)
        for _ in 0..<50 {
            let u = random.vector(128), v = random.vector(128)
            let tu = try a.template(of: u, organization: gym), tv = try a.template(of: v, organization: gym)
            #expect(abs(faceDistance(tu, tv) - faceDistance(u, v)) < 1e-5)
            let length = { (x: [Float]) in x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            #expect(abs(length(tu) - length(u)) < 1e-4 * length(u))
            let back = try a.embedding(of: tu, under: a.currentID, organization: gym)
            #expect(zip(back, u).allSatisfy { abs($0 - $1) < 1e-5 })
            // The stored vector is unrelated to the embedding, to its template under another key, and to the same
            // person's template at another organisation (no linking across tenants in one dump).
            #expect(faceDistance(tu, u) > 0.5)
            #expect(faceDistance(tu, try b.template(of: u, organization: gym)) > 0.5)
            #expect(faceDistance(tu, try a.template(of: u, organization: other)) > 0.5)
            // Read with the wrong organisation, a template is not the embedding.
            #expect(faceDistance(try a.embedding(of: tu, under: a.currentID, organization: other), u) > 0.5)
        }
        // Derived, not random: the same key and organisation give the same rotation.
        let u = random.vector(128)
        #expect(
            try TemplateKeys(key: Self.keyA).template(of: u, organization: gym)
                == (try a.template(of: u, organization: gym)))
        #expect(throws: StorageError.unknownTemplateKey(b.currentID)) {
            try a.embedding(of: u, under: b.currentID, organization: gym)
        }
        // Templates stored before per-organisation keys (the key's bare id: one rotation for every organisation) are
        // still read, the same at every organisation.
        let legacy = TemplateKeys.id(of: Self.keyA)
        let old = try a.template(of: u, under: legacy, organization: gym)
        #expect(old == (try a.template(of: u, under: legacy, organization: other)))
        let current = try a.template(of: u, organization: gym)
        #expect(faceDistance(old, u) > 0.5 && faceDistance(old, current) > 0.5)
        #expect(faceDistance(try a.embedding(of: old, under: legacy, organization: other), u) < 1e-5)
        #expect(a.keyIDs == [a.currentID, legacy])
    }

    @Test("a photo's digest is keyed per key and organisation, never its SHA-256; every form a row may hold is known")
    func photoDigests() throws {
        let a = TemplateKeys(key: Self.keyA), b = TemplateKeys(key: Self.keyB, previousKeys: [Self.keyA])
        let gym = UUID(), other = UUID()
        let sha = Array(SHA256.hash(data: Data("a photo".utf8)))
        let digest = try a.photoDigest(of: sha, organization: gym)
        #expect(digest.keyID == a.currentID && digest.bytes.count == 32 && digest.bytes != sha)
        #expect(digest == (try TemplateKeys(key: Self.keyA).photoDigest(of: sha, organization: gym)))
        #expect(digest.bytes != (try a.photoDigest(of: sha, organization: other)).bytes)
        #expect(digest.bytes != (try b.photoDigest(of: sha, organization: gym)).bytes)
        #expect(
            digest.bytes
                != (try a.photoDigest(of: Array(SHA256.hash(data: Data("another".utf8))), organization: gym)).bytes)
        // A row of this photo may hold it plain (before digests were keyed), under A or under B.
        let known = try b.photoDigests(of: sha, organization: gym)
        #expect(
            Set(known) == [PhotoDigest(bytes: sha, keyID: nil), digest, try b.photoDigest(of: sha, organization: gym)])
    }

    @Test("search results equal before, during and after re-keying (memory, pgvector exact and HNSW); templates change")
    func rekeying() async throws {
        try await GalleryFixture.with { fixture in
            let people = try await fixture.makeMembers(40)
            var random = SplitMix64(seed: 32)
            var legacy: [(face: UUID, embedding: [Float])] = []
            for i in 0..<300 {
                let embedding = random.vector(128)
                let face = try #require(
                    try await fixture.store.insert(
                        fixture.newFace(member: people[i % people.count], embedding: embedding)))
                if i < 50 { legacy.append((face.face, embedding)) }
            }
            // Faces stored under key A's one rotation for every organisation, before per-organisation keys.
            let bareA = TemplateKeys.id(of: Self.keyA)
            for (face, embedding) in legacy {
                let template = try TestDatabase.templateKeys.template(
                    of: embedding, under: bareA, organization: fixture.organization)
                try await fixture.client.query(
                    "UPDATE faces SET embedding = \(template)::real[]::vector, template_key_id = \(bareA) WHERE id = \(face)",
                    logger: fixture.logger)
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
            #expect(storedBefore.values.filter { $0.key == bareA }.count == 50)

            // Half way through a rotation to key B (A still known), four kinds of rows: plain, A for every
            // organisation, A and B for this one.
            let storeB = FaceStore(
                database: TestDatabase.database(fixture.client), logger: fixture.logger, templates: keysB)
            let firstHalf = try await storeB.templates(notUnder: keysB.currentID, after: nil, limit: 200)
            #expect(try await storeB.rekey(firstHalf) == 200)
            #expect(Set(try await stored().values.map(\.key)).count == 4)
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
