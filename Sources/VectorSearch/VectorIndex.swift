import COpenBLAS
import CVectorKernels
import Foundation

/// One search result: which row, and how close. `distance` is the cosine distance (1 − cosine similarity), the same
/// as pgvector's `<=>` and the one meaning of `FACE_MATCH_TOLERANCE`.
public struct VectorMatch<ID: Hashable & Sendable>: Sendable, Equatable {
    public let id: ID
    public let similarity: Float
    public var distance: Float { 1 - similarity }
}

/// An exact cosine-similarity index held in memory: one contiguous, 64-byte-aligned Float32 matrix whose rows are
/// L2-normalised vectors (the truth), an int8 copy of each row with its scale and error bound, and a parallel array of
/// ids. A query reads the int8 copy — a quarter of the bytes — with the widest kernel the CPU has, keeps the rows
/// whose bounds say they may be among the k best, and re-scores those in Float32 (`nearestRowsQuantized`): the same
/// ids, scores and order as scoring every Float32 row, by construction. Dimensions that are not a multiple of 16 use
/// `cblas_sgemv`; a batch uses `cblas_sgemm` over cache-sized blocks of the Float32 rows. Scans are split over the
/// cores for large indexes, and the best k are kept by partial selection while scoring.
///
/// Thread-safe: searches share a read lock and never block each other; insertions and removals take the write lock
/// for as long as one row copy (or a growth step, amortised by doubling).
public final class VectorIndex<ID: Hashable & Sendable>: @unchecked Sendable {
    public let dimension: Int
    private var matrix: UnsafeMutablePointer<Float>
    /// Row i's int8 copy, its scale and its error bound (`QuantizedRows`).
    private var quantized: UnsafeMutablePointer<Int8>
    private var scales: UnsafeMutablePointer<Float>
    private var errors: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var ids: [ID] = []
    private var rowOf: [ID: Int] = [:]
    private let lock = ReadWriteLock()

    public init(dimension: Int, capacity: Int = 1024) {
        precondition(dimension > 0)
        self.dimension = dimension
        self.capacity = max(1, capacity)
        self.matrix = Self.allocate(Float.self, count: self.capacity * dimension)
        self.quantized = Self.allocate(Int8.self, count: self.capacity * dimension)
        self.scales = Self.allocate(Float.self, count: self.capacity)
        self.errors = Self.allocate(Float.self, count: self.capacity)
    }

    deinit {
        free(matrix)
        free(quantized)
        free(scales)
        free(errors)
    }

    /// The int8 kernel this CPU runs (`avx512`, `avx2` or `generic`), chosen at run time.
    public static var int8Kernel: String { Self.kernelName(fg_kernel_best()) }

    static func kernelName(_ kernel: fg_kernel) -> String {
        switch kernel {
        case FG_KERNEL_AVX512: "avx512"
        case FG_KERNEL_AVX2: "avx2"
        default: "generic"
        }
    }

    /// Rows in the index.
    public var count: Int { lock.reading { ids.count } }

    /// Bytes held by the Float32 matrix and its int8 copy (their capacity) and the id array.
    public var byteCount: Int {
        lock.reading {
            capacity * (dimension * (MemoryLayout<Float>.size + MemoryLayout<Int8>.size) + 2 * MemoryLayout<Float>.size)
                + ids.capacity * MemoryLayout<ID>.stride
        }
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
                (scales[row], errors[row]) = QuantizedRows.quantize(source, into: quantized + row * dimension)
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
                (quantized + row * dimension).update(from: quantized + last * dimension, count: dimension)
                scales[row] = scales[last]
                errors[row] = errors[last]
                ids[row] = ids[last]
                rowOf[ids[row]] = row
            }
            ids.removeLast()
            return true
        }
    }

    /// How a single query is scanned: the int8 copy with a Float32 re-rank (the default; `kernel` forces one of the
    /// int8 kernels, for tests and benchmarks), or every Float32 row. Both give the same answer.
    public enum Scan: Sendable, Equatable {
        case quantized
        case quantizedWith(kernel: String)
        case float32
    }

    /// The int8 kernels this CPU runs.
    public static var availableInt8Kernels: [String] {
        let mask = fg_kernels_available()
        return [FG_KERNEL_GENERIC, FG_KERNEL_AVX2, FG_KERNEL_AVX512].filter { mask & (1 << $0.rawValue) != 0 }
            .map(kernelName)
    }

    /// The `k` rows most similar to `query` (normalised here), best first.
    public func search(_ query: [Float], k: Int) -> [VectorMatch<ID>] {
        search(query, k: k, scan: .quantized).matches
    }

    /// `search`, scanned as `scan` says, with how the quantised scan went (nil for the Float32 scan and for
    /// dimensions that are not a multiple of 16).
    public func search(_ query: [Float], k: Int, scan: Scan) -> (
        matches: [VectorMatch<ID>], report: QuantizedScanReport?
    ) {
        precondition(query.count == dimension, "query has \(query.count) dimensions, the index \(dimension)")
        guard k > 0, let normalised = Self.normalised(query) else { return ([], nil) }
        return lock.reading {
            let rows = ids.count
            guard rows > 0 else { return ([], nil) }
            if dimension % 16 == 0 {
                let kernel: fg_kernel
                switch scan {
                case .float32:
                    return search(normalisedQuery: normalised, k: k, rows: rows)
                case .quantized:
                    // Without AVX2 (x86-64 before 2013) the int8 kernel is plain C, slower than the Float32 scan's
                    // SIMD (benchmarks/README.md, "Design measurements").
                    guard fg_kernel_best() != FG_KERNEL_GENERIC else {
                        return search(normalisedQuery: normalised, k: k, rows: rows)
                    }
                    kernel = fg_kernel_best()
                case .quantizedWith(let name):
                    guard
                        let forced = [FG_KERNEL_GENERIC, FG_KERNEL_AVX2, FG_KERNEL_AVX512]
                            .first(where: {
                                Self.kernelName($0) == name && fg_kernels_available() & (1 << $0.rawValue) != 0
                            })
                    else { preconditionFailure("the int8 kernel \(name) does not run on this CPU") }
                    kernel = forced
                }
                let (items, report) = nearestRowsQuantized(
                    matrix: matrix, quantized: quantized, scales: scales, errors: errors, rows: rows,
                    dimension: dimension, query: normalised, k: k, kernel: kernel)
                return (items.map { VectorMatch(id: ids[$0.row], similarity: $0.score) }, report)
            }
            let scores = [Float](unsafeUninitializedCapacity: rows) { out, initialised in
                normalised.withUnsafeBufferPointer { q in
                    cblas_sgemv(
                        CblasRowMajor, CblasNoTrans, Int32(rows), Int32(dimension), 1, matrix, Int32(dimension),
                        q.baseAddress, 1, 0, out.baseAddress, 1)
                }
                initialised = rows
            }
            return (scores.withUnsafeBufferPointer { topK($0, k: k) }, nil)
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
            let found = nearestRows(
                matrix: matrix, rows: rows, dimension: dimension, queries: packed,
                count: queries.count, k: k)
            return found.indices.map { i in
                valid[i] ? found[i].map { VectorMatch(id: ids[$0.row], similarity: $0.score) } : []
            }
        }
    }

    // MARK: - Internals (called under the lock)

    /// The Float32 scan of every row.
    private func search(normalisedQuery: [Float], k: Int, rows: Int) -> (
        matches: [VectorMatch<ID>], report: QuantizedScanReport?
    ) {
        let items = nearestRows(matrix: matrix, rows: rows, dimension: dimension, query: normalisedQuery, k: k)
        return (items.map { VectorMatch(id: ids[$0.row], similarity: $0.score) }, nil)
    }

    /// The k highest scores, best first.
    private func topK(_ scores: UnsafeBufferPointer<Float>, k: Int) -> [VectorMatch<ID>] {
        var best = TopK(k: k)
        for row in 0..<scores.count { best.offer(scores[row], row: row) }
        return best.items.map { VectorMatch(id: ids[$0.row], similarity: $0.score) }
    }

    private func grow() {
        let newCapacity = capacity * 2
        matrix = Self.moved(matrix, count: ids.count * dimension, capacity: newCapacity * dimension)
        quantized = Self.moved(quantized, count: ids.count * dimension, capacity: newCapacity * dimension)
        scales = Self.moved(scales, count: ids.count, capacity: newCapacity)
        errors = Self.moved(errors, count: ids.count, capacity: newCapacity)
        capacity = newCapacity
    }

    /// A larger allocation holding the first `count` elements of `old`, which is freed.
    private static func moved<T>(_ old: UnsafeMutablePointer<T>, count: Int, capacity: Int) -> UnsafeMutablePointer<T> {
        let bigger = allocate(T.self, count: capacity)
        bigger.update(from: old, count: count)
        free(old)
        return bigger
    }

    /// `count` elements, 64-byte aligned.
    private static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        var raw: UnsafeMutableRawPointer?
        let bytes = max(64, count * MemoryLayout<T>.stride)
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else { fatalError("out of memory for \(count) elements") }
        return raw.bindMemory(to: T.self, capacity: count)
    }

    static func normalised(_ vector: [Float]) -> [Float]? {
        let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        return vector.map { $0 / norm }
    }
}
