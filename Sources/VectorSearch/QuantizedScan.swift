import CVectorKernels
import Foundation

/// Each row's int8 copy: `row ≈ scale · int8`, with `error` ≥ ‖row − scale · int8‖ (computed in Float64, rounded up).
/// For a unit query q the Float32 score row·q therefore lies within `scale · (int8·q) ± error` (Cauchy–Schwarz), up
/// to the rounding of the two Float32 sums, which `QuantizedRows.roundingMargin` covers many times over.
enum QuantizedRows {
    /// Far above the worst rounding of a 128–4096-term Float32 dot product of unit vectors (n·2⁻²⁴ ≤ 2.5e-4 for
    /// n = 4096, ≤ 7.7e-6 for 128), counted for both sums; scales with the dimension.
    static func roundingMargin(dimension: Int) -> Float { Float(dimension) * 4e-7 + 1e-5 }

    /// Writes `row`'s int8 copy to `out` and returns its scale and error bound.
    static func quantize(_ row: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Int8>) -> (
        scale: Float, error: Float
    ) {
        let largest = row.reduce(Float(0)) { max($0, abs($1)) }
        guard largest > 0 else {
            out.update(repeating: 0, count: row.count)
            return (0, 0)
        }
        let scale = largest / 127
        var squaredError = 0.0
        for (j, value) in row.enumerated() {
            let level = Int8(max(-127, min(127, (value / scale).rounded())))
            out[j] = level
            let difference = Double(value) - Double(scale) * Double(level)
            squaredError += difference * difference
        }
        return (scale, Float(squaredError.squareRoot()).nextUp)
    }
}

/// How one quantised search went: the rows re-scored in Float32, and whether the bounds admitted so many that the
/// full Float32 scan ran instead.
public struct QuantizedScanReport: Sendable, Equatable {
    public var rescored: Int
    public var fellBack: Bool
}

/// The same k rows, scores and order as `nearestRows` (the Float32 scan), found by reading the int8 copy: every row
/// gets a lower and an upper bound on its Float32 score from its int8 score; a row whose upper bound is below the
/// k-th best lower bound cannot be among the k best and is dropped; the others are re-scored with `rowScore`, in row
/// order, exactly as the full scan scores and orders them. When the bounds admit more than a quarter of the rows
/// (degenerate data: many near-identical rows), the full Float32 scan runs instead.
func nearestRowsQuantized(
    matrix: UnsafePointer<Float>, quantized: UnsafePointer<Int8>, scales: UnsafePointer<Float>,
    errors: UnsafePointer<Float>, rows: Int, dimension: Int, query: [Float], k: Int, kernel: fg_kernel
) -> (items: [(score: Float, row: Int)], report: QuantizedScanReport) {
    precondition(dimension % 16 == 0 && query.count == dimension)
    let margin = QuantizedRows.roundingMargin(dimension: dimension)
    let queryNorm = query.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot() * (1 + 1e-6)
    let shared = SharedRows(quantized: quantized, scales: scales, errors: errors)
    let chunk = 4096

    // Per part: the k best lower bounds, and every row whose upper bound reached the part's k-th best lower bound
    // when it was scored (that bound only rises, so the final filter below drops the rest).
    @Sendable func bounds(_ range: Range<Int>) -> (lowers: TopK, candidates: [(row: Int, upper: Float)]) {
        var lowers = TopK(k: k)
        var candidates: [(row: Int, upper: Float)] = []
        var dots = [Float](repeating: 0, count: chunk)
        query.withUnsafeBufferPointer { q in
            dots.withUnsafeMutableBufferPointer { dots in
                for start in stride(from: range.lowerBound, to: range.upperBound, by: chunk) {
                    let n = min(chunk, range.upperBound - start)
                    fg_int8_dot_rows_with(
                        kernel, shared.quantized + start * dimension, n, dimension, q.baseAddress!,
                        dots.baseAddress!)
                    for j in 0..<n {
                        let row = start + j
                        let estimate = shared.scales[row] * dots[j]
                        let slack = shared.errors[row] * queryNorm + margin
                        lowers.offer(estimate - slack, row: row)
                        if estimate + slack >= lowers.floor { candidates.append((row, estimate + slack)) }
                    }
                }
            }
        }
        return (lowers, candidates)
    }
    let parts = inParts(rows: rows) { bounds($0) }
    let kthLower = parts.reduce(into: TopK(k: k)) { $0.merge($1.lowers) }.floor
    let candidates = parts.flatMap { $0.candidates.lazy.filter { $0.upper >= kthLower }.map(\.row) }
    if candidates.count > rows / 4 + 64 {
        let items = nearestRows(matrix: matrix, rows: rows, dimension: dimension, query: query, k: k)
        return (items, QuantizedScanReport(rescored: rows, fellBack: true))
    }
    var best = TopK(k: k)
    let q = queryLanes(query)
    let base = UnsafeRawPointer(matrix)
    let rowBytes = dimension * MemoryLayout<Float>.size
    q.withUnsafeBufferPointer { q in
        for row in candidates { best.offer(rowScore(base + row * rowBytes, q), row: row) }  // row order, as the scan
    }
    return (best.items, QuantizedScanReport(rescored: candidates.count, fellBack: false))
}

/// The int8 copy and its per-row scale and error, read by the scanning threads.
private struct SharedRows: @unchecked Sendable {
    let quantized: UnsafePointer<Int8>
    let scales: UnsafePointer<Float>
    let errors: UnsafePointer<Float>
}
