import Foundation
import Storage
import Synchronization

/// Searches run by the database: pgvector's HNSW index (approximate) or its exact scan. Nothing is held here; the
/// number of an organisation's faces (which the derived tolerance needs), per key their templates are stored under
/// (each searched), is counted at most every `countMaxAge`: templates move only to the current key, which every search
/// includes.
final class PgvectorFaceSearch: FaceSearch {
    let store: FaceStore
    let method: FaceStore.SearchMethod
    let backend: SearchBackend
    private let countCache = Mutex<[UUID: (counts: [String?: Int], at: ContinuousClock.Instant)]>([:])
    static let countMaxAge: Duration = .seconds(10)

    init(store: FaceStore, method: FaceStore.SearchMethod, backend: SearchBackend) {
        self.store = store
        self.method = method
        self.backend = backend
    }

    /// The database is searched: nothing to keep.
    var index: (any FaceIndex)? { nil }

    func nearestFaces(to embedding: [Float], in organization: UUID, k: Int) async throws -> [FaceNeighbour] {
        let keys = try await countsByTemplateKey(in: organization).keys
        return try await store.nearestFaces(
            to: embedding, organization: organization, k: k, method: method, keys: Set(keys)
        )
        .map { FaceNeighbour(face: $0.face, distance: $0.distance) }
    }

    func faceCount(in organization: UUID) async throws -> Int {
        try await countsByTemplateKey(in: organization).values.reduce(0, +)
    }

    private func countsByTemplateKey(in organization: UUID) async throws -> [String?: Int] {
        let now = ContinuousClock.now
        if let cached = countCache.withLock({ $0[organization] }), now - cached.at < Self.countMaxAge {
            return cached.counts
        }
        let counts = try await store.countsByTemplateKey(organization: organization)
        countCache.withLock { $0[organization] = (counts, now) }
        return counts
    }
}
