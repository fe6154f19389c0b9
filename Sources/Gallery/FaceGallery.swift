import Dispatch
import Foundation
import Logging
import Storage
import Synchronization
import VectorSearch

/// Where searches run: the in-memory index (exact, fast) or the database's own search.
public enum SearchBackend: String, Sendable, CaseIterable {
    /// The in-memory BLAS index of every organisation, kept equal to the database (`GallerySync`).
    case memory
    /// pgvector's HNSW index (approximate; `hnsw.ef_search` configurable) — for galleries too big for RAM.
    case pgvector
    /// pgvector's exact scan (slow; for comparison and verification).
    case pgvectorExact = "pgvector_exact"
}

public enum GalleryError: Error, Equatable, CustomStringConvertible {
    /// The in-memory index has not finished loading (or is reloading after a failed consistency check).
    case notReady
    case wrongDimension(expected: Int, got: Int)

    public var description: String {
        switch self {
        case .notReady: "the face gallery is still loading"
        case .wrongDimension(let expected, let got): "embedding has \(got) dimensions, the gallery \(expected)"
        }
    }
}

/// Every organisation's enrolled faces, searchable. Writes go to the database first (`FaceStore`, `MemberStore`)
/// and, once committed, to this instance's in-memory index; `GallerySync` applies the writes of other instances
/// (announced by the database with NOTIFY) and checks the index against the database.
public final class FaceGallery: Sendable {
    public let dimension: Int
    public let backend: SearchBackend
    public let efSearch: Int
    let store: FaceStore
    let members: MemberStore
    let logger: Logger
    private let state: Mutex<State>
    private let countCache = Mutex<[UUID: (count: Int, at: ContinuousClock.Instant)]>([:])
    static let countMaxAge: Duration = .seconds(10)
    /// Large scans run here, off Swift's cooperative pool (a million-face scan takes tens of milliseconds).
    private let searchQueue = DispatchQueue(label: "facegate.gallery.search", qos: .userInitiated, attributes: .concurrent)
    static let offPoolRows = 20_000

    /// One organisation's index and the summary of what it holds (changed only under the gallery's lock).
    final class OrganizationIndex: @unchecked Sendable {
        let index: VectorIndex<FaceRef>
        var summary = FaceSummary()
        init(dimension: Int, capacity: Int) { index = VectorIndex(dimension: dimension, capacity: capacity) }
    }

    enum Change: Sendable {
        case add(FaceRef, organization: UUID, embedding: [Float])
        case remove(FaceRef, organization: UUID)

        var organization: UUID {
            switch self {
            case .add(_, let organization, _), .remove(_, let organization): organization
            }
        }
    }

    struct State: ~Copyable {
        var indexes: [UUID: OrganizationIndex] = [:]
        var loaded = false
        /// Changes applied while a reload streams its snapshot; replayed onto the fresh index before it replaces
        /// the old one, so a write that lands during a reload is not lost.
        var journal: [Change]? = []
        /// Faces removed lately: an `add` that arrives after its face's `remove` (notifications and local writes can
        /// interleave) must not bring the face back. Ids are never reused.
        var removed = RecentIDs(limit: 100_000)
        var sync = SyncStatus()
    }

    /// What `/ready` reports about the gallery.
    public struct SyncStatus: Sendable, Equatable {
        /// LISTEN is active: other instances' writes arrive.
        public var listening = false
        public var lastCheck: Date?
        public var lastCheckMismatches = 0
        public var reloads = 0
        /// Faces per model and version in the database at the last check (the gallery holds the active one's).
        public var facesByModel: [EmbeddingSpace: Int] = [:]
    }

    public init(
        store: FaceStore, members: MemberStore, dimension: Int, backend: SearchBackend = .memory, efSearch: Int = 100,
        logger: Logger
    ) {
        self.store = store
        self.members = members
        self.dimension = dimension
        self.backend = backend
        self.efSearch = efSearch
        self.logger = logger
        state = Mutex(State())
    }

    // MARK: - Writes (database first, then this instance's index)

    /// Stores a face and adds it to the index. Throws `StorageError.memberNotFound` / `.duplicateFace`.
    public func add(_ face: NewFace) async throws -> FaceRef {
        guard face.embedding.count == dimension else {
            throw GalleryError.wrongDimension(expected: dimension, got: face.embedding.count)
        }
        // Without a source face to copy, a face is always stored (or an error thrown).
        guard let ref = try await store.insert(face) else { throw StorageError.memberNotFound }
        apply(.add(ref, organization: face.organizationID, embedding: face.embedding))
        return ref
    }

    /// Deletes one face of the organisation (and of `member`, when given); false when there is no such face there.
    public func removeFace(_ face: UUID, organization: UUID, member: UUID? = nil) async throws -> Bool {
        guard let ref = try await store.delete(face: face, organization: organization, member: member) else { return false }
        apply(.remove(ref, organization: organization))
        return true
    }

    /// Erases a member and all its faces (see `MemberStore.delete`); false when there is no such member.
    public func removeMember(_ member: UUID, organization: UUID, actor: UUID? = nil) async throws -> Bool {
        guard let faces = try await members.delete(member: member, organization: organization, actor: actor) else {
            return false
        }
        for face in faces { apply(.remove(face, organization: organization)) }
        return true
    }

    // MARK: - Search

    /// The `k` faces of the organisation nearest to `embedding`, nearest first.
    public func nearestFaces(to embedding: [Float], in organization: UUID, k: Int) async throws -> [FaceNeighbour] {
        guard embedding.count == dimension else {
            throw GalleryError.wrongDimension(expected: dimension, got: embedding.count)
        }
        guard k > 0 else { return [] }
        switch backend {
        case .pgvector, .pgvectorExact:
            let method: FaceStore.SearchMethod = backend == .pgvector ? .hnsw(efSearch: efSearch) : .exact
            return try await store.nearestFaces(to: embedding, organization: organization, k: k, method: method)
                .map { FaceNeighbour(face: $0.face, distance: $0.distance) }
        case .memory:
            let index = try state.withLock { state throws(GalleryError) -> VectorIndex<FaceRef>? in
                guard state.loaded else { throw .notReady }
                return state.indexes[organization]?.index
            }
            guard let index else { return [] }
            let search: @Sendable () -> [FaceNeighbour] = { index.search(embedding, k: k).map { FaceNeighbour(face: $0.id, distance: $0.distance) } }
            guard index.count >= Self.offPoolRows else { return search() }
            return await withCheckedContinuation { continuation in
                searchQueue.async { continuation.resume(returning: search()) }
            }
        }
    }

    /// The members nearest to `embedding`, one entry per member (its nearest face), nearest first: at most
    /// `limit` of them, plus the runner-up the match rule needs.
    public func nearestMembers(to embedding: [Float], in organization: UUID, limit: Int) async throws -> [MemberCandidate] {
        let wanted = limit + 1
        var k = max(16, wanted * 4)
        while true {
            let neighbours = try await nearestFaces(to: embedding, in: organization, k: k)
            let candidates = MatchRule.members(neighbours)
            // Fewer faces than asked for means the organisation has no more; otherwise widen until enough members.
            if candidates.count >= wanted || neighbours.count < k || k >= 1 << 16 {
                return Array(candidates.prefix(wanted))
            }
            k *= 4
        }
    }

    /// The faces a search of `organization` compares a probe with (the derived tolerance depends on it). With the
    /// pgvector backends the database counts them, at most every `countMaxAge` per organisation (a count is a scan).
    public func faceCount(in organization: UUID) async throws -> Int {
        switch backend {
        case .pgvector, .pgvectorExact:
            let now = ContinuousClock.now
            if let cached = countCache.withLock({ $0[organization] }), now - cached.at < Self.countMaxAge {
                return cached.count
            }
            let count = try await store.count(organization: organization)
            countCache.withLock { $0[organization] = (count, now) }
            return count
        case .memory:
            return try state.withLock { state throws(GalleryError) -> Int in
                guard state.loaded else { throw .notReady }
                return state.indexes[organization]?.summary.count ?? 0
            }
        }
    }

    // MARK: - State for /ready and the sync

    /// Faces in the in-memory index (all organisations); nil for the pgvector backends.
    public var indexedFaces: Int? {
        guard backend == .memory else { return nil }
        return state.withLock { state in state.indexes.values.reduce(0) { $0 + $1.summary.count } }
    }

    public var indexBytes: Int {
        state.withLock { state in state.indexes.values.reduce(0) { $0 + $1.index.byteCount } }
    }

    /// Whether searches give the database's answer: true for the pgvector backends; for memory, once loaded and
    /// while listening with no unresolved mismatch.
    public var isInSync: Bool {
        guard backend == .memory else { return true }
        return state.withLock { $0.loaded && $0.journal == nil && $0.sync.listening }
    }

    public var syncStatus: SyncStatus { state.withLock { $0.sync } }

    /// Whether the index has been loaded from the database at least once (the pgvector backends load nothing).
    public var isLoaded: Bool { backend != .memory || state.withLock { $0.loaded } }

    func updateSync(_ update: (inout SyncStatus) -> Void) { state.withLock { update(&$0.sync) } }

    /// Takes over the sync status (LISTEN state, last check) of the gallery this one replaces (a face model switch):
    /// the same `GallerySync` goes on following the database for it.
    public func continueSync(of replaced: FaceGallery) {
        let status = replaced.syncStatus
        updateSync { $0 = status }
    }

    /// The most faces any one organisation has in the in-memory index (nil for the pgvector backends).
    public var largestOrganizationFaces: Int? {
        guard backend == .memory else { return nil }
        return state.withLock { state in state.indexes.values.map(\.summary.count).max() ?? 0 }
    }

    /// Per-organisation summaries of the in-memory index (organisations without faces left out).
    func summaries() -> [UUID: FaceSummary] {
        state.withLock { state in state.indexes.compactMapValues { $0.summary.count > 0 ? $0.summary : nil } }
    }

    // MARK: - Applying changes

    func apply(_ change: Change) {
        guard backend == .memory else { return }
        state.withLock { state in
            state.journal?.append(change)
            Self.apply(change, to: &state.indexes, removed: &state.removed, dimension: dimension)
        }
    }

    private static func apply(
        _ change: Change, to indexes: inout [UUID: OrganizationIndex], removed: inout RecentIDs, dimension: Int
    ) {
        switch change {
        case .add(let ref, let organization, let embedding):
            guard !removed.contains(ref.face), embedding.count == dimension else { return }
            let entry = indexes[organization] ?? {
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
    public static func capacity(for count: Int) -> Int { 256 + count + count / 8 }

    /// Replaces the index of `organization` (nil: of every organisation) with a fresh load from the database,
    /// replaying the changes applied meanwhile. Searches keep using the old index until the swap.
    public func reload(organization: UUID? = nil) async throws {
        guard backend == .memory else { return }
        // Before the first full load there is nothing to patch: load everything.
        let organization = isLoaded ? organization : nil
        let clock = ContinuousClock(), started = clock.now
        // Until the swap, changes are recorded; if the load fails they stay recorded for the next attempt.
        state.withLock { state in if state.journal == nil { state.journal = [] } }
        // Sized from the counts: no growth while loading.
        let counts = try await store.counts()
        var fresh: [UUID: OrganizationIndex] = [:]
        try await store.forEachFace(organization: organization) { org, ref, embedding in
            let entry = fresh[org] ?? {
                let created = OrganizationIndex(dimension: dimension, capacity: Self.capacity(for: counts[org] ?? 0))
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
            state.sync.reloads += 1
        }
        logger.info("gallery loaded", metadata: [
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
            if start > limit { order.removeFirst(start); start = 0 }
        }
    }
}
