import ImageDecoding

/// A face found in an image together with its embedding, aligned chip and quality measures.
public struct FaceEncoding: Sendable {
    public var face: DetectedFace
    public var embedding: [Float]
    public var chip: RGBImage
    public var quality: FaceQuality
    /// How the photo was turned to find the face (`.up`: as given). `face.box` and `face.landmarks` refer to the
    /// photo turned this way.
    public var turn: EXIFOrientation = .up
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

extension FaceEngine {
    /// Detects faces (turning a sideways photo upright, see `detectFacesUpright`), aligns each and embeds them in
    /// one batch: the whole pipeline after decoding. Largest face first; at most `limit` faces are embedded.
    public func faceEncodings(in photo: RGBImage, limit: Int = .max) throws(FaceEngineError) -> [FaceEncoding] {
        var times = EncodingTimes()
        return try faceEncodings(in: photo, limit: limit, times: &times)
    }

    /// `faceEncodings(in:limit:)`, saying how long each step took (for the benchmarks).
    public func faceEncodings(
        in photo: RGBImage, limit: Int = .max, times: inout EncodingTimes
    ) throws(FaceEngineError) -> [FaceEncoding] {
        let clock = ContinuousClock()
        var started = clock.now
        let (found, image, turn) = try detectFacesUpright(in: photo)
        let faces = Array(found.prefix(limit))
        times.detect = clock.now - started
        started = clock.now
        var chips: [RGBImage] = []
        for face in faces { chips.append(try faceChip(for: face, in: image)) }
        times.align = clock.now - started
        started = clock.now
        let embeddings = try faceEncodings(of: chips)
        times.embed = clock.now - started
        return faces.indices.map { i in
            FaceEncoding(face: faces[i], embedding: embeddings[i], chip: chips[i],
                         quality: FaceQuality(face: faces[i], chip: chips[i]), turn: turn)
        }
    }
}
