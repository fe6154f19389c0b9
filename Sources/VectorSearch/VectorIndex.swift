import COpenBLAS
import Foundation

/// One search result: which row, and how close. `distance` is the cosine distance (1 − cosine similarity), the same
/// as pgvector's `<=>` and the one meaning of `FACE_MATCH_TOLERANCE`.
public struct VectorMatch<ID: Hashable & Sendable>: Sendable, Equatable {
    public let id: ID
    public let similarity: Float
    public var distance: Float { 1 - similarity }
}

/// An exact cosine-similarity index held in memory: one contiguous, 64-byte-aligned Float32 matrix whose rows are
/// L2-normalised vectors, and a parallel array of ids. A query is scored against every row by a SIMD loop split over
/// the cores (`cblas_sgemv` when the dimension is not a multiple of 16), a batch by `cblas_sgemm` over cache-sized
/// blocks of rows, and the best k are kept by partial selection while scoring. No per-query copy of the matrix, no
/// Float64.
///
/// Thread-safe: searches share a read lock and never block each other; insertions and removals take the write lock
/// for as long as one row copy (or a growth step, amortised by doubling).
public final class VectorIndex<ID: Hashable & Sendable>: @unchecked Sendable {
    public let dimension: Int
    private var matrix: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var ids: [ID] = []
    private var rowOf: [ID: Int] = [:]
    private let lock = ReadWriteLock()

    public init(dimension: Int, capacity: Int = 1024) {
        precondition(dimension > 0)
        self.dimension = dimension
        self.capacity = max(1, capacity)
        self.matrix = Self.allocate(rows: self.capacity, dimension: dimension)
    }

    deinit { free(matrix) }

    /// Rows in the index.
    public var count: Int { lock.reading { ids.count } }

    /// Bytes held by the matrix (its capacity) and the id array.
    public var byteCount: Int {
        lock.reading { capacity * dimension * MemoryLayout<Float>.size + ids.capacity * MemoryLayout<ID>.stride }
    }

    public func contains(_ id: ID) -> Bool { lock.reading { rowOf[id] != nil } }

    /// Adds `vector` (normalised here) under `id`, replacing the row `id` had. A zero vector is refused.
    @discardableResult
    public func insert(_ vector: [Float], id: ID) -> Bool {
        precondition(vector.count == dimension, "vector has \(vector.count) dimensions, the index \(dimension)")
        guard let normalised = Self.normalised(vector) else { return false }
        lock.writing {
            let row: Int
            if let existing = rowOf[id] {
                row = existing
            } else {
                if ids.count == capacity { grow() }
                row = ids.count
                ids.append(id)
                rowOf[id] = row
            }
            normalised.withUnsafeBufferPointer { source in
                (matrix + row * dimension).update(from: source.baseAddress!, count: dimension)
            }
        }
        return true
    }

    /// Removes `id`'s row by moving the last row into its place. Returns false when `id` was not there.
    @discardableResult
    public func remove(_ id: ID) -> Bool {
        lock.writing {
            guard let row = rowOf.removeValue(forKey: id) else { return false }
            let last = ids.count - 1
            if row != last {
                (matrix + row * dimension).update(from: matrix + last * dimension, count: dimension)
                ids[row] = ids[last]
                rowOf[ids[row]] = row
            }
            ids.removeLast()
            return true
        }
    }

    /// The `k` rows most similar to `query` (normalised here), best first.
    public func search(_ query: [Float], k: Int) -> [VectorMatch<ID>] {
        precondition(query.count == dimension, "query has \(query.count) dimensions, the index \(dimension)")
        guard k > 0, let normalised = Self.normalised(query) else { return [] }
        return lock.reading {
            let rows = ids.count
            guard rows > 0 else { return [] }
            if dimension % 16 == 0 {
                return nearestRows(matrix: matrix, rows: rows, dimension: dimension, query: normalised, k: k)
                    .map { VectorMatch(id: ids[$0.row], similarity: $0.score) }
            }
            let scores = [Float](unsafeUninitializedCapacity: rows) { out, initialised in
                normalised.withUnsafeBufferPointer { q in
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, matrix, Int32(dimension),
                                q.baseAddress, 1, 0, out.baseAddress, 1)
                }
                initialised = rows
            }
            return scores.withUnsafeBufferPointer { topK($0, k: k) }
        }
    }

    /// `search` for several queries at once with one matrix–matrix product (`cblas_sgemm`), which streams the
    /// matrix from memory once for the whole batch.
    public func search(batch queries: [[Float]], k: Int) -> [[VectorMatch<ID>]] {
        guard !queries.isEmpty, k > 0 else { return queries.map { _ in [] } }
        var packed = [Float](repeating: 0, count: queries.count * dimension)
        var valid = [Bool](repeating: false, count: queries.count)
        for (i, query) in queries.enumerated() {
            precondition(query.count == dimension, "query has \(query.count) dimensions, the index \(dimension)")
            guard let normalised = Self.normalised(query) else { continue }
            valid[i] = true
            packed.replaceSubrange((i * dimension)..<((i + 1) * dimension), with: normalised)
        }
        return lock.reading {
            let rows = ids.count
            guard rows > 0 else { return queries.map { _ in [] } }
            let found = nearestRows(matrix: matrix, rows: rows, dimension: dimension, queries: packed,
                                    count: queries.count, k: k)
            return found.indices.map { i in
                valid[i] ? found[i].map { VectorMatch(id: ids[$0.row], similarity: $0.score) } : []
            }
        }
    }

    // MARK: - Internals (called under the lock)

    /// The k highest scores, best first.
    private func topK(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [VectorMatch<ID>] {
        var best = TopK(k: k)
        for row in 0..<scores.count { best.offer(scores[row], row: row) }
        return best.items.map { VectorMatch(id: ids[$0.row], similarity: $0.score) }
    }

    private func grow() {
        let newCapacity = capacity * 2
        let bigger = Self.allocate(rows: newCapacity, dimension: dimension)
        bigger.update(from: matrix, count: ids.count * dimension)
        free(matrix)
        matrix = bigger
        capacity = newCapacity
    }

    private static func allocate(rows: Int, dimension: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let bytes = max(64, rows * dimension * MemoryLayout<Float>.size)
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory for \(rows) vectors") }
        return raw.bindMemory(to: Float.self, capacity: rows * dimension)
    }

    static func normalised(_ vector: [Float]) -> [Float]? {
        let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        return vector.map { $0 / norm }
    }
}
