import ImageDecoding

/// The faces of one photo as a recognizer found them: boxes and landmarks refer to `image`, the photo turned by
/// `turn` (`.up` when it was found as given).
public struct FaceDetection: Sendable {
    public var faces: [DetectedFace]
    public var image: RGBImage
    public var turn: EXIFOrientation

    public init(faces: [DetectedFace], image: RGBImage, turn: EXIFOrientation) {
        self.faces = faces
        self.image = image
        self.turn = turn
    }
}

/// The seam where face models plug in: a loaded model that finds faces (box, five landmarks, score) and embeds
/// them. Implementations hold native state and are NOT thread-safe: `EnginePool` gives each its own thread.
/// `DlibRecognizer` (HOG/CNN + ResNet) and `SFaceRecognizer` (YuNet + SFace through OpenCV) implement it.
public protocol FaceRecognizer: AnyObject {
    var descriptor: FaceModelDescriptor { get }

    /// Every face of the photo with its landmarks, largest first; a recognizer may turn a sideways photo upright.
    func faceLocations(in photo: RGBImage) throws(FaceEngineError) -> FaceDetection

    /// The aligned crop of `face` that the embedder reads (its size is the model's).
    func faceChip(for face: DetectedFace, in image: RGBImage) throws(FaceEngineError) -> RGBImage

    /// L2-normalised embeddings of aligned chips, `descriptor.dimension` values each.
    func embeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]]

    /// The same without the test-time augmentation (one network pass per chip, half the time with flip on): for a
    /// check that two faces are one person, not for what is stored or searched.
    func quickEmbeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]]
}

/// How long the steps of one `faceEncodings(in:limit:times:)` call took.
public struct EncodingTimes: Sendable {
    /// Finding the faces (every pass and fallback) and their landmarks.
    public var detect: Duration = .zero
    /// Cutting the aligned chips.
    public var align: Duration = .zero
    /// The embedding network.
    public var embed: Duration = .zero

    public init() {}
}

extension FaceRecognizer {
    public func quickEmbeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] {
        try embeddings(of: chips)
    }

    /// Detects faces, aligns each and embeds them in one batch: the whole pipeline after decoding, the same for the
    /// API, `eval` and `bench`. Largest face first; at most `limit` faces are embedded.
    public func faceEncodings(in photo: RGBImage, limit: Int = .max) throws(FaceEngineError) -> [FaceEncoding] {
        var times = EncodingTimes()
        return try faceEncodings(in: photo, limit: limit, times: &times)
    }

    /// `faceEncodings(in:limit:)`, saying how long each step took (for the benchmarks).
    public func faceEncodings(
        in photo: RGBImage, limit: Int = .max, times: inout EncodingTimes
    ) throws(FaceEngineError) -> [FaceEncoding] {
        let clock = ContinuousClock()
        let started = clock.now
        let found = try faceLocations(in: photo)
        times.detect = clock.now - started
        return try faceEncodings(of: found.faces.prefix(limit).map { ($0, found) }, times: &times)
    }

    /// Aligns and embeds faces found by `faceLocations` (each with the detection it belongs to) in one batch.
    public func faceEncodings(
        of faces: [(face: DetectedFace, in: FaceDetection)], times: inout EncodingTimes
    ) throws(FaceEngineError) -> [FaceEncoding] {
        let clock = ContinuousClock()
        var started = clock.now
        var chips: [RGBImage] = []
        for (face, found) in faces { chips.append(try faceChip(for: face, in: found.image)) }
        times.align = clock.now - started
        started = clock.now
        let embeddings = try embeddings(of: chips)
        times.embed = clock.now - started
        return faces.indices.map { i in
            FaceEncoding(
                face: faces[i].face, embedding: embeddings[i], chip: chips[i],
                quality: FaceQuality(face: faces[i].face, chip: chips[i], layout: descriptor.landmarkLayout),
                turn: faces[i].in.turn)
        }
    }
}

/// Test-time augmentation: each chip embedded together with its mirror image in one call, and the normalised mean of
/// the two kept (`FACE_EMBED_FLIP`, both models).
func mirrorAveraged(
    _ chips: [RGBImage], embed: ([RGBImage]) throws(FaceEngineError) -> [[Float]]
) throws(FaceEngineError) -> [[Float]] {
    guard !chips.isEmpty else { return [] }
    let both = try embed(chips + chips.map { $0.mirrored() })
    return (0..<chips.count).map { i in l2Normalized(zip(both[i], both[i + chips.count]).map { $0 + $1 }) }
}
