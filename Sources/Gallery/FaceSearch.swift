import Foundation
import Logging
import Storage

/// Where searches run: the in-memory index (exact, fast) or the database's own search.
public enum SearchBackend: String, Sendable, CaseIterable {
    /// The in-memory index of every organisation, kept equal to the database (`GallerySync`).
    case memory
    /// pgvector's HNSW index (approximate; `hnsw.ef_search` configurable) — for galleries too big for RAM.
    case pgvector
    /// pgvector's exact scan (slow; for comparison and verification).
    case pgvectorExact = "pgvector_exact"

    /// The one place a backend is chosen: the search `FaceGallery` runs on.
    func makeSearch(store: FaceStore, dimension: Int, efSearch: Int, logger: Logger) -> any FaceSearch {
        switch self {
        case .memory: InMemoryFaceSearch(store: store, dimension: dimension, logger: logger)
        case .pgvector: PgvectorFaceSearch(store: store, method: .hnsw(efSearch: efSearch), backend: self)
        case .pgvectorExact: PgvectorFaceSearch(store: store, method: .exact, backend: self)
        }
    }
}

/// The seam where search backends plug in: the nearest faces of an organisation to a probe, and how many faces a
/// search there compares with. A backend that keeps its own copy of the faces has an `index`, which `GallerySync`
/// keeps equal to the database; one that searches the database has none.
public protocol FaceSearch: Sendable {
    var backend: SearchBackend { get }

    /// The `k` faces of the organisation nearest to `embedding` (of the gallery's dimension, `k` > 0), nearest first.
    func nearestFaces(to embedding: [Float], in organization: UUID, k: Int) async throws -> [FaceNeighbour]

    /// The faces a search of `organization` compares a probe with.
    func faceCount(in organization: UUID) async throws -> Int

    /// The backend's own copy of the faces, if it keeps one.
    var index: (any FaceIndex)? { get }
}

/// A backend's own copy of the faces: told of every change (`apply`), loaded and reloaded (`reload`) and compared with
/// the database (`summaries`) by `GallerySync`.
public protocol FaceIndex: Sendable {
    /// Searches give the database's answer: loaded, with no reload pending (the gallery adds whether it hears of
    /// changes).
    var isCurrent: Bool { get }
    /// Loaded at least once.
    var isLoaded: Bool { get }
    /// Faces held and their bytes, and the most of one organisation.
    var heldFaces: Int { get }
    var heldBytes: Int { get }
    var largestOrganizationFaces: Int { get }

    /// A committed change to the faces (a face added or removed).
    func apply(_ change: GalleryChange)
    /// Replaces what is held of `organization` (nil: of all) by a fresh load from the database.
    func reload(organization: UUID?) async throws
    /// Per-organisation count and checksum of what is held.
    func summaries() -> [UUID: FaceSummary]
}

/// One committed change to the faces.
public enum GalleryChange: Sendable {
    case add(FaceRef, organization: UUID, embedding: [Float])
    case remove(FaceRef, organization: UUID)

    var organization: UUID {
        switch self {
        case .add(_, let organization, _), .remove(_, let organization): organization
        }
    }
}
