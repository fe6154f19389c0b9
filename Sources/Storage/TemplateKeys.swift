import Crypto
import Foundation
import Synchronization

/// Face templates at rest: every embedding is stored as `Q·e`, where `Q` is a random rotation (an orthogonal matrix)
/// derived from `BIOMETRIC_ENCRYPTION_KEY` with HKDF. A rotation keeps lengths and angles, so cosine distances — the
/// in-memory search, pgvector's exact scan and its HNSW graph — are what they were for the plain embeddings, while a
/// dumped template no longer lies near the same face embedded by the plain model elsewhere, and a new key (`facegate
/// keys rotate`) makes every template taken before it useless against the new ones.
///
/// Not encryption: whoever holds the key, or enough pairs of a face's plain embedding and its stored template (128
/// independent pairs determine `Q`), can undo it. `faces.template_key_id` names the key a row is stored under; NULL is
/// a template stored before this protection (plain), read as it is until `keys rotate` transforms it.
public struct TemplateKeys: Sendable {
    /// The id of the key new templates are stored under (the same id `BiometricSealer` gives the key).
    public let currentID: String
    let current: OrthogonalTransform
    private let transforms: [String: OrthogonalTransform]

    public init(key: [UInt8], previousKeys: [[UInt8]] = [], dimensions: Int = Migration.embeddingDimensions) {
        currentID = Self.id(of: key)
        current = OrthogonalTransform.derived(from: key, keyID: currentID, dimensions: dimensions)
        var transforms: [String: OrthogonalTransform] = [:]
        for old in previousKeys {
            let id = Self.id(of: old)
            transforms[id] = OrthogonalTransform.derived(from: old, keyID: id, dimensions: dimensions)
        }
        transforms[currentID] = current
        self.transforms = transforms
    }

    /// A key's public name: the first 8 bytes of a hash of it, hex.
    public static func id(of key: [UInt8]) -> String {
        SHA256.hash(data: Array("facegate key id|".utf8) + key).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The ids of every key this service can read templates of.
    public var keyIDs: Set<String> { Set(transforms.keys) }

    /// `embedding` as stored under the current key.
    public func template(of embedding: [Float]) throws -> [Float] {
        try current.apply(embedding)
    }

    /// `embedding` as stored under `keyID` (nil: plain), to compare with templates stored under it.
    public func template(of embedding: [Float], under keyID: String?) throws -> [Float] {
        guard let keyID else { return embedding }
        guard let transform = transforms[keyID] else { throw StorageError.unknownTemplateKey(keyID) }
        return try transform.apply(embedding)
    }

    /// The plain embedding of a template stored under `keyID` (nil: stored plain).
    public func embedding(of template: [Float], under keyID: String?) throws -> [Float] {
        guard let keyID else { return template }
        guard let transform = transforms[keyID] else { throw StorageError.unknownTemplateKey(keyID) }
        return try transform.invert(template)
    }
}

/// A d×d orthogonal matrix `Q` drawn from the Haar distribution by a deterministic generator: Gaussian entries from
/// an HMAC-SHA256 counter stream keyed by HKDF(key), orthonormalised by Gram–Schmidt (twice, in double precision; a
/// positive diagonal of R, so the draw is uniform over rotations). Kept in both orders so that `Q·v` and `Qᵀ·t` are
/// each a sum of contiguous columns scaled by one number (vectorised, no reassociation).
struct OrthogonalTransform: Sendable {
    let dimensions: Int
    /// Q's columns, each contiguous: `columns[j*d + i] = Q[i][j]`.
    private let columns: [Float]
    /// Q's rows, each contiguous: `rows[i*d + j] = Q[i][j]` (Qᵀ's columns).
    private let rows: [Float]

    private static let cache = Mutex<[String: OrthogonalTransform]>([:])

    /// Derivation takes a few milliseconds: done once per key and width in a process.
    static func derived(from key: [UInt8], keyID: String, dimensions: Int) -> OrthogonalTransform {
        let name = "\(keyID)/\(dimensions)"
        if let known = cache.withLock({ $0[name] }) { return known }
        let made = OrthogonalTransform(key: key, dimensions: dimensions)
        cache.withLock { $0[name] = made }
        return made
    }

    init(key: [UInt8], dimensions d: Int) {
        precondition(d > 0)
        dimensions = d
        let seed = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: key), salt: Array("facegate template rotation v1".utf8),
            info: Array("dimensions=\(d)".utf8), outputByteCount: 32)
        var gaussians = GaussianStream(seed: seed)
        // Columns of a Gaussian matrix, orthonormalised in place (modified Gram–Schmidt, a second pass for accuracy).
        var q = [Double](repeating: 0, count: d * d)
        for index in q.indices { q[index] = gaussians.next() }
        q.withUnsafeMutableBufferPointer { q in
            for j in 0..<d {
                for _ in 0..<2 {
                    for k in 0..<j {
                        var dot = 0.0
                        for i in 0..<d { dot += q[k * d + i] * q[j * d + i] }
                        for i in 0..<d { q[j * d + i] -= dot * q[k * d + i] }
                    }
                }
                var norm = 0.0
                for i in 0..<d { norm += q[j * d + i] * q[j * d + i] }
                norm = norm.squareRoot()
                for i in 0..<d { q[j * d + i] /= norm }
            }
        }
        columns = q.map(Float.init)
        var rows = [Float](repeating: 0, count: d * d)
        for j in 0..<d { for i in 0..<d { rows[i * d + j] = Float(q[j * d + i]) } }
        self.rows = rows
    }

    /// `Q·v`.
    func apply(_ vector: [Float]) throws -> [Float] { try combine(columns, vector) }

    /// `Qᵀ·t`: the vector whose `apply` is `t`.
    func invert(_ template: [Float]) throws -> [Float] { try combine(rows, template) }

    /// Σⱼ vⱼ · (column j of `matrix`), the columns contiguous.
    private func combine(_ matrix: [Float], _ vector: [Float]) throws -> [Float] {
        guard vector.count == dimensions else {
            throw StorageError.embeddingWidthMismatch(column: dimensions, model: vector.count)
        }
        let d = dimensions
        var out = [Float](repeating: 0, count: d)
        out.withUnsafeMutableBufferPointer { out in
            matrix.withUnsafeBufferPointer { m in
                for j in 0..<d {
                    let scale = vector[j]
                    let column = m.baseAddress! + j * d
                    for i in 0..<d { out[i] += scale * column[i] }
                }
            }
        }
        return out
    }
}

/// Standard normal numbers from an HMAC-SHA256 counter stream (Box–Muller on 53-bit uniforms).
private struct GaussianStream {
    let key: SymmetricKey
    var counter: UInt64 = 0
    var words: [UInt64] = []
    var spare: Double?

    init(seed: SymmetricKey) { key = seed }

    mutating func next() -> Double {
        if let spare {
            self.spare = nil
            return spare
        }
        // (0, 1]: the logarithm never sees zero.
        let u1 = (Double(nextWord() >> 11) + 1) / 9007199254740992
        let u2 = Double(nextWord() >> 11) / 9007199254740992
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spare = radius * Foundation.sin(2 * Double.pi * u2)
        return radius * Foundation.cos(2 * Double.pi * u2)
    }

    private mutating func nextWord() -> UInt64 {
        if words.isEmpty {
            var block = counter.bigEndian
            let mac = HMAC<SHA256>.authenticationCode(for: withUnsafeBytes(of: &block) { Array($0) }, using: key)
            counter += 1
            let bytes = Array(mac)
            words = (0..<4).map { word in bytes[word * 8..<word * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        }
        return words.removeLast()
    }
}
