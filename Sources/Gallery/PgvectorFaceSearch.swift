import Foundation
import Storage
import Synchronization

/// Searches run by the database: pgvector's HNSW index (approximate) or its exact scan. Nothing is held here; the
/// number of an organisation's faces (which the derived tolerance needs) is counted at most every `countMaxAge`.
final class PgvectorFaceSearch: FaceSearch {
    let store: FaceStore
    let method: FaceStore.SearchMethod
    let backend: SearchBackend
    private let countCache = Mutex<[UUID: (count: Int, at: ContinuousClock.Instant)]>([:])
    static let countMaxAge: Duration = .seconds(10)

    init(store: FaceStore, method: FaceStore.SearchMethod, backend: SearchBackend) {
        self.store = store
        self.method = method
        self.backend = backend
    }

    var keepsIndex: Bool { false }
    var isCurrent: Bool { true }
    var isLoaded: Bool { true }
    var heldFaces: Int? { nil }
    var heldBytes: Int { 0 }
    var largestOrganizationFaces: Int? { nil }
    func summaries() -> [UUID: FaceSummary] { [:] }
    func apply(_ change: GalleryChange) {}
    func reload(organization: UUID?) async throws {}

    func nearestFaces(to embedding: [Float], in organization: UUID, k: Int) async throws -> [FaceNeighbour] {
        try await store.nearestFaces(to: embedding, organization: organization, k: k, method: method)
            .map { FaceNeighbour(face: $0.face, distance: $0.distance) }
    }

    func faceCount(in organization: UUID) async throws -> Int {
        let now = ContinuousClock.now
        if let cached = countCache.withLock({ $0[organization] }), now - cached.at < Self.countMaxAge {
            return cached.count
        }
        let count = try await store.count(organization: organization)
        countCache.withLock { $0[organization] = (count, now) }
        return count
    }
}
