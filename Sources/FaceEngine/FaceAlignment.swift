/// The similarity transform (rotation, uniform scale, translation) that maps `source` points onto `target` points
/// with the least squared error (Umeyama's solution, which in 2-D has this closed form), as a 2×3 row-major matrix
/// for an affine warp.
func similarityTransform(from source: [Point], to target: [(Double, Double)]) -> [Double] {
    precondition(source.count == target.count && !source.isEmpty)
    let n = Double(source.count)
    let sx = source.reduce(0) { $0 + Double($1.x) } / n, sy = source.reduce(0) { $0 + Double($1.y) } / n
    let tx = target.reduce(0) { $0 + $1.0 } / n, ty = target.reduce(0) { $0 + $1.1 } / n
    var dot = 0.0, cross = 0.0, norm = 0.0
    for (p, q) in zip(source, target) {
        let x = Double(p.x) - sx, y = Double(p.y) - sy, u = q.0 - tx, v = q.1 - ty
        dot += x * u + y * v
        cross += x * v - y * u
        norm += x * x + y * y
    }
    guard norm > 0 else { return [1, 0, tx - sx, 0, 1, ty - sy] }
    let a = dot / norm, b = cross / norm
    return [a, -b, tx - (a * sx - b * sy), b, a, ty - (b * sx + a * sy)]
}
