import FaceEngine

/// The projective map of a plane seen from two viewpoints (3×3, h₃₃ = 1): fixed exactly by four points in general
/// position, it says where any other point of the same plane appears in the second view. A point off the plane (a
/// nose in front of the eyes and mouth) lands elsewhere, by its depth times how far the view turned: the parallax
/// the liveness check measures.
struct Homography: Equatable {
    /// Row-major h₁₁ … h₃₂ (h₃₃ = 1).
    var h: [Double]

    /// The map taking each of `from` to the matching `to` (four points each); nil when three of them are collinear
    /// (no plane is fixed).
    init?(from: [Point], to: [Point]) {
        guard from.count == 4, to.count == 4 else { return nil }
        // x' = (h1 x + h2 y + h3) / (h7 x + h8 y + 1), y' likewise with h4…h6: two linear equations per point.
        var a = [[Double]]()
        var b = [Double]()
        for (p, q) in zip(from, to) {
            let x = Double(p.x), y = Double(p.y), u = Double(q.x), v = Double(q.y)
            a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
            b.append(u)
            a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
            b.append(v)
        }
        guard let solution = Self.solve(a, b) else { return nil }
        h = solution
    }

    /// Where `p` of the first view's plane appears in the second.
    func apply(_ p: Point) -> (x: Double, y: Double) {
        let x = Double(p.x), y = Double(p.y)
        let w = h[6] * x + h[7] * y + 1
        return ((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w)
    }

    /// Gaussian elimination with partial pivoting on a square system; nil when it is (nearly) singular.
    static func solve(_ matrix: [[Double]], _ rhs: [Double]) -> [Double]? {
        let n = rhs.count
        var a = matrix, b = rhs
        let scale = a.flatMap { $0 }.map(abs).max() ?? 0
        guard scale > 0 else { return nil }
        for column in 0..<n {
            let pivot = (column..<n).max { abs(a[$0][column]) < abs(a[$1][column]) }!
            guard abs(a[pivot][column]) > scale * 1e-12 else { return nil }
            a.swapAt(column, pivot)
            b.swapAt(column, pivot)
            for row in (column + 1)..<n {
                let factor = a[row][column] / a[column][column]
                guard factor != 0 else { continue }
                for k in column..<n { a[row][k] -= factor * a[column][k] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for k in (row + 1)..<n { sum -= a[row][k] * x[k] }
            x[row] = sum / a[row][row]
        }
        return x
    }
}
