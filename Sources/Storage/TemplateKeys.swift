import Crypto
import Foundation
import Synchronization

/// What a face row keeps beside its sealed blobs, keyed by `BIOMETRIC_ENCRYPTION_KEY` per organisation: its template
/// and its photo's digest.
///
/// **Templates**: every embedding is stored as `Q·e`, where `Q` is a random rotation (an orthogonal matrix) derived
/// with HKDF from the key and the face's organisation, so that the same person's templates at two tenants are
/// unrelated. A rotation keeps lengths and angles, so cosine distances — the in-memory search, pgvector's exact scan
/// and its HNSW graph — are what they were for the plain embeddings, while a dumped template does not lie near the same
/// face embedded by the public model elsewhere.
///
/// **Photo digests**: `HMAC-SHA256(HKDF(key, organisation), SHA-256(photo))`, so that the same photo enrolled twice for
/// a member is one face, while a dump does not tell which known photo made which template.
///
/// Keyed obfuscation against casual linking, not encryption: whoever holds the key can undo it, and so can whoever
/// holds about 128 pairs of a face's plain embedding and its template in one organisation (an operator who enrols
/// photos they also embed offline), or two dumps of the same rows before and after `keys rotate`. The real protections
/// are the database's access control and disk encryption (README, "Templates at rest").
///
/// `faces.template_key_id` and `faces.photo_digest_key_id` name the key a row's template and digest are under:
/// `org:<key id>` per organisation; a bare key id is a template stored under one rotation for every organisation
/// (before per-organisation keys); NULL is stored plain, before this protection. Each is read as it is until
/// `keys rotate` stores it under the current key.
public struct TemplateKeys: Sendable {
    /// The id new templates and photo digests are stored under: `org:` and the key's id.
    public let currentID: String
    private let keys: [String: [UInt8]]
    private let dimensions: Int

    public init(key: [UInt8], previousKeys: [[UInt8]] = [], dimensions: Int = Migration.embeddingDimensions) {
        currentID = Self.storedID(of: key)
        var keys: [String: [UInt8]] = [:]
        for old in previousKeys { keys[Self.id(of: old)] = old }
        keys[Self.id(of: key)] = key
        self.keys = keys
        self.dimensions = dimensions
    }

    /// A key's public name: the first 8 bytes of a hash of it, hex.
    public static func id(of key: [UInt8]) -> String {
        SHA256.hash(data: Array("facegate key id|".utf8) + key).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// What a row stored under `key` per organisation names it by.
    public static func storedID(of key: [UInt8]) -> String { perOrganization + id(of: key) }

    static let perOrganization = "org:"

    /// The ids of every key this service can read templates and digests of (per organisation, and the older form of
    /// one rotation for every organisation).
    public var keyIDs: Set<String> { Set(keys.keys.flatMap { [Self.perOrganization + $0, $0] }) }

    /// `embedding` as stored under the current key in `organization`.
    public func template(of embedding: [Float], organization: UUID) throws -> [Float] {
        try transform(currentID, organization: organization).apply(embedding)
    }

    /// `embedding` as stored under `keyID` (nil: plain) in `organization`, to compare with templates stored under it.
    public func template(of embedding: [Float], under keyID: String?, organization: UUID) throws -> [Float] {
        guard let keyID else { return embedding }
        return try transform(keyID, organization: organization).apply(embedding)
    }

    /// The plain embedding of a template stored under `keyID` (nil: stored plain) in `organization`.
    public func embedding(of template: [Float], under keyID: String?, organization: UUID) throws -> [Float] {
        guard let keyID else { return template }
        return try transform(keyID, organization: organization).invert(template)
    }

    /// The digest of the photo with SHA-256 `photoSHA256`, stored for `organization` under the current key.
    public func photoDigest(of photoSHA256: [UInt8], organization: UUID) throws -> PhotoDigest {
        PhotoDigest(bytes: try digest(photoSHA256, under: currentID, organization: organization), keyID: currentID)
    }

    /// The photo's digest under every key this service has, and plain: what a row of this photo may hold.
    public func photoDigests(of photoSHA256: [UInt8], organization: UUID) throws -> [PhotoDigest] {
        try [PhotoDigest(bytes: photoSHA256, keyID: nil)]
            + keys.keys.sorted().map { id in
                let stored = Self.perOrganization + id
                return PhotoDigest(
                    bytes: try digest(photoSHA256, under: stored, organization: organization), keyID: stored)
            }
    }

    private func digest(_ photoSHA256: [UInt8], under keyID: String, organization: UUID) throws -> [UInt8] {
        let key = try material(keyID, perOrganization: true)
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: key), salt: Array("facegate photo digest v1".utf8),
            info: Array("organization=\(organization.uuidString.lowercased())".utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: photoSHA256, using: derived))
    }

    /// The key material a stored id names (`perOrganization`: only the per-organisation form is accepted).
    private func material(_ keyID: String, perOrganization: Bool = false) throws -> [UInt8] {
        let bare = keyID.hasPrefix(Self.perOrganization) ? String(keyID.dropFirst(Self.perOrganization.count)) : nil
        guard let key = keys[bare ?? keyID], bare != nil || !perOrganization else {
            throw StorageError.unknownTemplateKey(keyID)
        }
        return key
    }

    private func transform(_ keyID: String, organization: UUID) throws -> OrthogonalTransform {
        let key = try material(keyID)
        let scoped = keyID.hasPrefix(Self.perOrganization) ? organization : nil
        return OrthogonalTransform.derived(from: key, keyID: keyID, organization: scoped, dimensions: dimensions)
    }
}

/// A photo's digest as a face row stores it, and the key it is under (nil: the photo's plain SHA-256, stored before
/// digests were keyed).
public struct PhotoDigest: Sendable, Hashable {
    public var bytes: [UInt8]
    public var keyID: String?

    public init(bytes: [UInt8], keyID: String?) {
        self.bytes = bytes
        self.keyID = keyID
    }

    /// Hex, as the API shows it.
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
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
    /// 2·d² floats each (128 KiB at d = 128): the cache keeps at most this many (keys × organisations).
    static let cacheLimit = 512

    /// Derivation takes a few milliseconds: done once per key, organisation and width in a process (while the cache
    /// holds it). `organization` nil: the one rotation for every organisation of the key (before per-organisation
    /// keys).
    static func derived(from key: [UInt8], keyID: String, organization: UUID?, dimensions: Int) -> OrthogonalTransform {
        let name = "\(keyID)/\(organization?.uuidString ?? "*")/\(dimensions)"
        if let known = cache.withLock({ $0[name] }) { return known }
        let made = OrthogonalTransform(key: key, organization: organization, dimensions: dimensions)
        cache.withLock { cache in
            // One entry goes (not all: a load interleaving more organisations than fit would derive nearly every
            // face's rotation again).
            if cache.count >= cacheLimit { cache.remove(at: cache.startIndex) }
            cache[name] = made
        }
        return made
    }

    init(key: [UInt8], organization: UUID?, dimensions d: Int) {
        precondition(d > 0)
        dimensions = d
        let seed = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: key),
            salt: Array((organization == nil ? "facegate template rotation v1" : "facegate template rotation v2").utf8),
            info: Array(
                ("dimensions=\(d)" + (organization.map { "|organization=\($0.uuidString.lowercased())" } ?? "")).utf8),
            outputByteCount: 32)
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
        let u1 = (Double(nextWord() >> 11) + 1) / 9_007_199_254_740_992
        let u2 = Double(nextWord() >> 11) / 9_007_199_254_740_992
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
