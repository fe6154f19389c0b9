extension RGBImage {
    /// A copy whose longer side is at most `maxSide`, made by area averaging (a box filter with fractional edges,
    /// the right filter for shrinking); `self` when it already fits.
    public func downscaled(toFit maxSide: Int) -> RGBImage {
        precondition(maxSide > 0)
        let longer = max(width, height)
        guard longer > maxSide else { return self }
        let scale = Double(maxSide) / Double(longer)
        let outW = max(1, Int((Double(width) * scale).rounded()))
        let outH = max(1, Int((Double(height) * scale).rounded()))
        return resizedByArea(width: outW, height: outH)
    }

    /// Area-averaging resize to exactly `outW` × `outH` (shrinking only). Separable, 14-bit fixed point.
    func resizedByArea(width outW: Int, height outH: Int) -> RGBImage {
        precondition(outW <= width && outH <= height)
        let columns = AreaWeights(source: width, target: outW)
        let rows = AreaWeights(source: height, target: outH)
        // Pass 1: each source row shrinks horizontally into `horizontal` (height × outW).
        var horizontal = [UInt8](repeating: 0, count: height * outW * 3)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let srcRow = y * width * 3, dstRow = y * outW * 3
                    for x in 0..<outW {
                        var r: Int32 = 0, g: Int32 = 0, b: Int32 = 0
                        let first = columns.first[x]
                        for k in 0..<columns.count[x] {
                            let weight = columns.weights[columns.offset[x] + k]
                            let p = srcRow + (first + k) * 3
                            r &+= Int32(src[p]) &* weight
                            g &+= Int32(src[p + 1]) &* weight
                            b &+= Int32(src[p + 2]) &* weight
                        }
                        let d = dstRow + x * 3
                        dst[d] = AreaWeights.clamp(r)
                        dst[d + 1] = AreaWeights.clamp(g)
                        dst[d + 2] = AreaWeights.clamp(b)
                    }
                }
            }
        }
        // Pass 2: columns of `horizontal` shrink vertically, whole rows at a time for cache-friendly access.
        var out = [UInt8](repeating: 0, count: outH * outW * 3)
        var accumulator = [Int32](repeating: 0, count: outW * 3)
        horizontal.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                accumulator.withUnsafeMutableBufferPointer { acc in
                    let rowLength = outW * 3
                    for y in 0..<outH {
                        for i in 0..<rowLength { acc[i] = 0 }
                        for k in 0..<rows.count[y] {
                            let weight = rows.weights[rows.offset[y] + k]
                            let srcRow = (rows.first[y] + k) * rowLength
                            for i in 0..<rowLength { acc[i] &+= Int32(src[srcRow + i]) &* weight }
                        }
                        let dstRow = y * rowLength
                        for i in 0..<rowLength { dst[dstRow + i] = AreaWeights.clamp(acc[i]) }
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}

/// For each target pixel, the source pixels it covers and their coverage, summing to 1 << 14.
struct AreaWeights {
    static let precision: Int32 = 14
    var first: [Int] = []
    var count: [Int] = []
    var offset: [Int] = []
    var weights: [Int32] = []

    init(source: Int, target: Int) {
        let ratio = Double(source) / Double(target)
        let one = Double(1 << Self.precision)
        for t in 0..<target {
            let start = Double(t) * ratio, end = min(Double(source), Double(t + 1) * ratio)
            let lo = Int(start), hi = min(source, Int(end.rounded(.up)))
            first.append(lo)
            offset.append(weights.count)
            var row: [Int32] = []
            for s in lo..<hi {
                let covered = min(end, Double(s + 1)) - max(start, Double(s))
                row.append(Int32((covered / ratio * one).rounded()))
            }
            // Make the weights sum to exactly one, so flat areas keep their value.
            let error = Int32(1 << Self.precision) - row.reduce(0, +)
            if let largest = row.indices.max(by: { row[$0] < row[$1] }) { row[largest] += error }
            weights.append(contentsOf: row)
            count.append(row.count)
        }
    }

    @inline(__always)
    static func clamp(_ value: Int32) -> UInt8 {
        UInt8(clamping: (value + (1 << (precision - 1))) >> precision)
    }
}
