import COpenBLAS
import Dispatch
import Foundation

/// Rows from which one query's scoring is split across the cores.
let parallelScoringRows = 50_000

/// The `k` rows of a 64-byte-aligned row-major matrix (dimension a multiple of 16) with the highest dot product
/// with `query`, best first.
///
/// One pass: a SIMD dot-product loop streams the matrix once, split across the cores for large indexes, and each
/// part keeps its own k best as it goes (no score array, no second pass); the parts' lists are merged. For one query
/// this beat `cblas_sgemv`, which writes every score out first (benchmarks/README.md, "Design measurements"); batches
/// of queries still go through `cblas_sgemm`, where BLAS wins.
func nearestRows(
    matrix: UnsafePointer<Float>, rows: Int, dimension: Int, query: [Float], k: Int
) -> [(score: Float, row: Int)] {
    precondition(dimension % 16 == 0 && query.count == dimension)
    let q = queryLanes(query)
    let base = SharedMatrix(pointer: UnsafeRawPointer(matrix))
    let rowBytes = dimension * MemoryLayout<Float>.size
    @Sendable func scan(_ range: Range<Int>) -> TopK {
        var best = TopK(k: k)
        q.withUnsafeBufferPointer { q in
            for row in range { best.offer(rowScore(base.pointer + row * rowBytes, q), row: row) }
        }
        return best
    }
    return inParts(rows: rows) { scan($0) }.reduce(into: TopK(k: k)) { $0.merge($1) }.items
}

/// The query as the 16-float lanes `rowScore` takes.
func queryLanes(_ query: [Float]) -> [SIMD16<Float>] {
    query.withUnsafeBytes { raw in
        (0..<(query.count / 16)).map { raw.loadUnaligned(fromByteOffset: $0 * 64, as: SIMD16<Float>.self) }
    }
}

/// The Float32 dot product of the row at `start` (64-byte aligned: the matrix is, and rows are 64·k bytes) with the
/// query: the one score of the index. The full scan and the quantised scan's re-scoring both call it, so that they
/// give the same score to the last bit.
@inline(__always)
func rowScore(_ start: UnsafeRawPointer, _ q: UnsafeBufferPointer<SIMD16<Float>>) -> Float {
    var sum = SIMD16<Float>()
    for lane in 0..<q.count { sum += start.load(fromByteOffset: lane * 64, as: SIMD16<Float>.self) * q[lane] }
    return horizontalSum(sum)
}

/// `nearestRows` for several queries at once: `cblas_sgemm` scores a block of rows against the whole batch into a
/// buffer that stays in cache, whose scores go straight to each query's k best; the matrix is streamed from memory
/// once for the whole batch, split across the cores for large indexes.
func nearestRows(
    matrix: UnsafePointer<Float>, rows: Int, dimension: Int, queries packed: [Float], count batch: Int, k: Int
) -> [[(score: Float, row: Int)]] {
    precondition(packed.count == batch * dimension)
    let base = SharedMatrix(pointer: UnsafeRawPointer(matrix))
    let blockRows = 4096
    @Sendable func scan(_ range: Range<Int>) -> [TopK] {
        var best = [TopK](repeating: TopK(k: k), count: batch)
        var scores = [Float](repeating: 0, count: batch * blockRows)
        let rowsOf = base.pointer.assumingMemoryBound(to: Float.self)
        for start in stride(from: range.lowerBound, to: range.upperBound, by: blockRows) {
            let n = min(blockRows, range.upperBound - start)
            // scores (batch × n) = queries (batch × dimension) · rowsᵀ (dimension × n)
            packed.withUnsafeBufferPointer { q in
                scores.withUnsafeMutableBufferPointer { out in
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(n), Int32(dimension), 1,
                        q.baseAddress, Int32(dimension), rowsOf + start * dimension, Int32(dimension), 0,
                        out.baseAddress, Int32(n))
                }
            }
            for i in 0..<batch {
                for j in 0..<n { best[i].offer(scores[i * n + j], row: start + j) }
            }
        }
        return best
    }
    let parts = inParts(rows: rows) { scan($0) }
    return (0..<batch).map { i in parts.reduce(into: TopK(k: k)) { $0.merge($1[i]) }.items }
}

/// `work` over the rows in one piece, or split into one contiguous range per core for large indexes; the results
/// in row order (so that merging keeps the lower row first among equal scores).
func inParts<Result>(rows: Int, _ work: @escaping @Sendable (Range<Int>) -> Result) -> [Result] {
    let parts = rows >= parallelScoringRows ? max(1, ProcessInfo.processInfo.activeProcessorCount) : 1
    if parts == 1 { return [work(0..<rows)] }
    let results = PartResults<Result>(count: parts)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        results.store(work((part * rows / parts)..<((part + 1) * rows / parts)), at: part)
    }
    return results.all()
}

/// The sum of the 16 lanes as a tree of vector adds (`SIMD16.sum()` adds them one after the other: 15 dependent
/// scalar additions per row, which cost more than the row's loads).
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf
    let four = eight.lowHalf + eight.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// The k highest scores offered so far, best first (ties: the first offered first). O(1) for the usual offer that
/// does not beat the current k-th best.
struct TopK {
    let k: Int
    private(set) var items: [(score: Float, row: Int)] = []
    /// The k-th best score, or −∞ while fewer than k were offered.
    private(set) var floor = -Float.infinity

    init(k: Int) {
        self.k = k
        items.reserveCapacity(k + 1)
    }

    @inline(__always)
    mutating func offer(_ score: Float, row: Int) {
        if items.count == k && score <= floor { return }
        var position = items.count
        while position > 0 && items[position - 1].score < score { position -= 1 }
        items.insert((score, row), at: position)
        if items.count > k { items.removeLast() }
        if items.count == k { floor = items[k - 1].score }
    }

    mutating func merge(_ other: TopK) {
        for item in other.items { offer(item.score, row: item.row) }
    }
}

/// The matrix, read by the scanning threads.
struct SharedMatrix: @unchecked Sendable {
    let pointer: UnsafeRawPointer
}

/// One slot per part, each written by one thread before `concurrentPerform` returns.
private final class PartResults<Value>: @unchecked Sendable {
    private var slots: [Value?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func store(_ value: Value, at index: Int) { slots.withUnsafeMutableBufferPointer { $0[index] = value } }
    func all() -> [Value] { slots.map { $0! } }
}
