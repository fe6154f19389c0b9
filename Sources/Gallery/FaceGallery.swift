import Foundation
import Logging
import Storage
import Synchronization

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
/// and, once committed, to the search backend's own copy if it keeps one (`FaceSearch`: in memory, or none for
/// pgvector); `GallerySync` applies the writes of other instances (announced by the database with NOTIFY) and checks
/// that copy against the database.
public final class FaceGallery: Sendable {
    public let dimension: Int
    let store: FaceStore
    let members: MemberStore
    let logger: Logger
    /// Where searches run (chosen once: `SearchBackend.makeSearch`).
    let search: any FaceSearch
    private let sync = Mutex(SyncStatus())

    /// What `/ready` reports about the gallery.
    public struct SyncStatus: Sendable, Equatable {
        /// LISTEN is active: other instances' writes arrive.
        public var listening = false
        public var lastCheck: Date?
        public var lastCheckMismatches = 0
        public var reloads = 0
        /// Faces per model and version in the database at the last check (the gallery holds the active one's).
        public var facesByModel: [EmbeddingSpace: Int] = [:]
        /// A key some face templates are stored under and this instance does not have: those faces cannot be
        /// searched until it is restarted with the key (`TemplateKeys`).
        public var unknownTemplateKey: String?
    }

    public init(
        store: FaceStore, members: MemberStore, dimension: Int, backend: SearchBackend = .memory, efSearch: Int = 100,
        logger: Logger
    ) {
        self.store = store
        self.members = members
        self.dimension = dimension
        self.logger = logger
        search = backend.makeSearch(store: store, dimension: dimension, efSearch: efSearch, logger: logger)
    }

    /// The backend searches run on.
    public var backend: SearchBackend { search.backend }

    /// Rows the in-memory index allocates for an organisation of `count` faces (benchmarks size theirs the same way).
    public static func indexCapacity(for count: Int) -> Int { InMemoryFaceSearch.capacity(for: count) }

    // MARK: - Writes (database first, then the backend's copy)

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
    public func removeFace(_ face: UUID, organization: UUID, member: UUID? = nil, actor: UUID? = nil) async throws
        -> Bool
    {
        guard let ref = try await store.delete(face: face, organization: organization, member: member, actor: actor)
        else {
            return false
        }
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
        return try await noticingUnknownTemplateKeys {
            try await search.nearestFaces(to: embedding, in: organization, k: k)
        }
    }

    /// Runs `body`, remembering for `/ready` a template key it meets that this instance does not have.
    func noticingUnknownTemplateKeys<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch StorageError.unknownTemplateKey(let key) {
            noteUnknownTemplateKey(key)
            throw StorageError.unknownTemplateKey(key)
        }
    }

    /// Some faces are stored under `key`, which this instance does not have: not in sync until a restart with it.
    public func noteUnknownTemplateKey(_ key: String) {
        updateSync { $0.unknownTemplateKey = key }
    }

    /// The members nearest to `embedding`, one entry per member (its nearest face), nearest first: at most
    /// `limit` of them, plus the runner-up the match rule needs.
    public func nearestMembers(to embedding: [Float], in organization: UUID, limit: Int) async throws
        -> [MemberCandidate]
    {
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

    /// The faces a search of `organization` compares a probe with (the derived tolerance depends on it).
    public func faceCount(in organization: UUID) async throws -> Int {
        try await search.faceCount(in: organization)
    }

    // MARK: - State for /ready and the sync

    /// Faces in the in-memory index (all organisations); nil for a backend that keeps none.
    public var indexedFaces: Int? { search.index?.heldFaces }

    public var indexBytes: Int { search.index?.heldBytes ?? 0 }

    /// Whether searches give the database's answer: a backend that searches the database always does; one with its
    /// own copy once loaded, while listening, with no unresolved difference.
    /// Never while some templates are under a key it lacks.
    public var isInSync: Bool {
        let status = syncStatus
        let current = search.index.map { $0.isCurrent && status.listening } ?? true
        return current && status.unknownTemplateKey == nil
    }

    public var syncStatus: SyncStatus { sync.withLock { $0 } }

    /// Whether the backend's copy has been loaded from the database at least once (always, without a copy).
    public var isLoaded: Bool { search.index?.isLoaded ?? true }

    /// The most faces any one organisation has in the in-memory index (nil without one).
    public var largestOrganizationFaces: Int? { search.index?.largestOrganizationFaces }

    func updateSync(_ update: (inout SyncStatus) -> Void) { sync.withLock { update(&$0) } }

    /// Takes over the sync status (LISTEN state, last check) of the gallery this one replaces (a face model switch):
    /// the same `GallerySync` goes on following the database for it.
    public func continueSync(of replaced: FaceGallery) {
        let status = replaced.syncStatus
        updateSync { $0 = status }
    }

    /// Per-organisation summaries of the backend's copy (organisations without faces left out).
    func summaries() -> [UUID: FaceSummary] { search.index?.summaries() ?? [:] }

    // MARK: - Applying changes

    func apply(_ change: GalleryChange) { search.index?.apply(change) }

    /// Replaces the copy of `organization` (nil: of every organisation) with a fresh load from the database,
    /// replaying the changes applied meanwhile. Searches keep using the old copy until the swap.
    public func reload(organization: UUID? = nil) async throws {
        guard let index = search.index else { return }
        try await noticingUnknownTemplateKeys { try await index.reload(organization: organization) }
        updateSync { $0.reloads += 1 }
    }
}
