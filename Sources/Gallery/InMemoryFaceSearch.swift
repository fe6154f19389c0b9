import Dispatch
import Foundation
import Logging
import Storage
import Synchronization
import VectorSearch

/// Every organisation's faces in memory, searched exactly (`VectorIndex`): a copy of the database that `GallerySync`
/// keeps equal to it. Changes applied while a reload streams its snapshot are journaled and replayed onto the fresh
/// index before it replaces the old one, so a write that lands during a reload is not lost.
final class InMemoryFaceSearch: FaceSearch, FaceIndex {
    let store: FaceStore
    let dimension: Int
    let logger: Logger
    private let state = Mutex(State())
    /// Large scans run here, off Swift's cooperative pool (a million-face scan is long CPU work).
    private let searchQueue = DispatchQueue(
        label: "facegate.gallery.search", qos: .userInitiated, attributes: .concurrent)
    static let offPoolRows = 20_000

    /// One organisation's index and the summary of what it holds (changed only under the lock).
    final class OrganizationIndex: @unchecked Sendable {
        let index: VectorIndex<FaceRef>
        var summary = FaceSummary()
        init(dimension: Int, capacity: Int) { index = VectorIndex(dimension: dimension, capacity: capacity) }
    }

    struct State: ~Copyable {
        var indexes: [UUID: OrganizationIndex] = [:]
        var loaded = false
        /// Changes applied while a reload streams its snapshot (nil when none runs; recording until the first load).
        var journal: [GalleryChange]? = []
        /// Faces removed lately: an `add` that arrives after its face's `remove` (notifications and local writes can
        /// interleave) must not bring the face back. Ids are never reused.
        var removed = RecentIDs(limit: 100_000)
    }

    init(store: FaceStore, dimension: Int, logger: Logger) {
        self.store = store
        self.dimension = dimension
        self.logger = logger
    }

    var backend: SearchBackend { .memory }
    var index: (any FaceIndex)? { self }
    var isCurrent: Bool { state.withLock { $0.loaded && $0.journal == nil } }
    var isLoaded: Bool { state.withLock { $0.loaded } }
    var heldFaces: Int { state.withLock { state in state.indexes.values.reduce(0) { $0 + $1.summary.count } } }
    var heldBytes: Int { state.withLock { state in state.indexes.values.reduce(0) { $0 + $1.index.byteCount } } }
    var largestOrganizationFaces: Int {
        state.withLock { state in state.indexes.values.map(\.summary.count).max() ?? 0 }
    }

    func summaries() -> [UUID: FaceSummary] {
        state.withLock { state in state.indexes.compactMapValues { $0.summary.count > 0 ? $0.summary : nil } }
    }

    func nearestFaces(to embedding: [Float], in organization: UUID, k: Int) async throws -> [FaceNeighbour] {
        let index = try state.withLock { state throws(GalleryError) -> VectorIndex<FaceRef>? in
            guard state.loaded else { throw .notReady }
            return state.indexes[organization]?.index
        }
        guard let index else { return [] }
        let search: @Sendable () -> [FaceNeighbour] = {
            index.search(embedding, k: k).map { FaceNeighbour(face: $0.id, distance: $0.distance) }
        }
        guard index.count >= Self.offPoolRows else { return search() }
        return await withCheckedContinuation { continuation in
            searchQueue.async { continuation.resume(returning: search()) }
        }
    }

    func faceCount(in organization: UUID) async throws -> Int {
        try state.withLock { state throws(GalleryError) -> Int in
            guard state.loaded else { throw .notReady }
            return state.indexes[organization]?.summary.count ?? 0
        }
    }

    func apply(_ change: GalleryChange) {
        state.withLock { state in
            state.journal?.append(change)
            Self.apply(change, to: &state.indexes, removed: &state.removed, dimension: dimension)
        }
    }

    private static func apply(
        _ change: GalleryChange, to indexes: inout [UUID: OrganizationIndex], removed: inout RecentIDs, dimension: Int
    ) {
        switch change {
        case .add(let ref, let organization, let embedding):
            guard !removed.contains(ref.face), embedding.count == dimension else { return }
            let entry =
                indexes[organization]
                ?? {
                    let created = OrganizationIndex(dimension: dimension, capacity: capacity(for: 0))
                    indexes[organization] = created
                    return created
                }()
            let isNew = !entry.index.contains(ref)
            if entry.index.insert(embedding, id: ref), isNew { entry.summary.add(ref.face) }
        case .remove(let ref, let organization):
            removed.insert(ref.face)
            if let entry = indexes[organization], entry.index.remove(ref) { entry.summary.remove(ref.face) }
        }
    }

    /// Rows allocated for an organisation of `count` faces: 1/8 headroom so that the next enrolments do not double
    /// a large matrix at once.
    static func capacity(for count: Int) -> Int { 256 + count + count / 8 }

    /// Searches keep using the old index until the swap; before the first full load there is nothing to patch, so
    /// everything is loaded.
    func reload(organization: UUID?) async throws {
        let organization = isLoaded ? organization : nil
        let clock = ContinuousClock(), started = clock.now
        // Until the swap, changes are recorded; if the load fails they stay recorded for the next attempt.
        state.withLock { state in if state.journal == nil { state.journal = [] } }
        // Sized from the counts: no growth while loading.
        let counts = try await store.counts()
        var fresh: [UUID: OrganizationIndex] = [:]
        try await store.forEachFace(organization: organization) { org, ref, embedding in
            let entry =
                fresh[org]
                ?? {
                    let created = OrganizationIndex(
                        dimension: dimension, capacity: Self.capacity(for: counts[org] ?? 0))
                    fresh[org] = created
                    return created
                }()
            if entry.index.insert(embedding, id: ref) { entry.summary.add(ref.face) }
        }
        let total = fresh.values.reduce(0) { $0 + $1.summary.count }
        state.withLock { state in
            var removed = state.removed
            for change in state.journal ?? [] where organization == nil || change.organization == organization {
                Self.apply(change, to: &fresh, removed: &removed, dimension: dimension)
            }
            state.removed = removed
            if let organization {
                state.indexes[organization] = fresh[organization]
            } else {
                state.indexes = fresh
            }
            state.journal = nil
            state.loaded = true
        }
        logger.info(
            "gallery loaded",
            metadata: [
                "organization": "\(organization.map(\.uuidString) ?? "all")", "faces": "\(total)",
                "seconds": "\(((clock.now - started) / .seconds(1)).formatted(.number.precision(.fractionLength(2))))",
            ])
    }
}

/// A bounded set of recently seen ids: the oldest are forgotten first.
struct RecentIDs {
    let limit: Int
    private var members = Set<UUID>()
    private var order: [UUID] = []
    private var start = 0

    init(limit: Int) { self.limit = limit }

    func contains(_ id: UUID) -> Bool { members.contains(id) }

    mutating func insert(_ id: UUID) {
        guard members.insert(id).inserted else { return }
        order.append(id)
        if members.count > limit {
            members.remove(order[start])
            start += 1
            if start > limit {
                order.removeFirst(start)
                start = 0
            }
        }
    }
}
