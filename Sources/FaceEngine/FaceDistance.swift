/// The one meaning of distance in facegate: cosine distance, 1 − cosine similarity (pgvector's `<=>`), between
/// L2-normalised embeddings. 0 is identical, 1 is unrelated, 2 is opposite.
public func faceDistance(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "embeddings of different sizes")
    var dot: Float = 0, normA: Float = 0, normB: Float = 0
    for i in a.indices {
        dot += a[i] * b[i]
        normA += a[i] * a[i]
        normB += b[i] * b[i]
    }
    guard normA > 0, normB > 0 else { return 1 }
    return 1 - dot / (normA.squareRoot() * normB.squareRoot())
}

/// `vector` scaled to unit length (unchanged when it is all zeros).
public func l2Normalized(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    guard norm > 0 else { return vector }
    return vector.map { $0 / norm }
}
