import ImageDecoding

/// YuNet detection + SFace embeddings (OpenCV Zoo models, fp32 conversions) through OpenCV's dnn module. Each face
/// is aligned on its five landmarks to ArcFace's 112 × 112 template and embedded as a 128-d vector compared by
/// cosine. NOT thread-safe: one per engine thread.
public final class SFaceRecognizer: FaceRecognizer {
    public static let chipSize = 112
    public static let embeddingDimensions = 128
    /// Where ArcFace-style models expect the five points (YuNet's order) in the 112 × 112 crop.
    static let template: [(Double, Double)] = [
        (38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041),
    ]
    /// YuNet's lowest score for a face: on the check-in photos it keeps every face dlib finds (README, "Benchmarks").
    public static let defaultMinScore: Float = 0.6

    /// SFace's model as stored on face rows: the converted file's checksum, and "+flip" when mirror images are
    /// averaged in.
    public static func descriptor(flip: Bool) -> FaceModelDescriptor {
        FaceModelDescriptor(
            name: FaceModelKind.sface.rawValue,
            version: String(FaceModels.sface.sha256.prefix(12)) + (flip ? "+flip" : ""),
            dimension: embeddingDimensions, landmarkLayout: .eyesNoseTipMouthCorners, detector: "yunet",
            files: [FaceModels.yunet, FaceModels.sface],
            falseMatches: flip ? FalseMatchCurves.sfaceFlip : FalseMatchCurves.sface)
    }

    public let descriptor: FaceModelDescriptor
    private let detector: YuNetDetector
    private let embedder: OpenCVNet
    private let flip: Bool

    /// `detectMaxSide`: YuNet runs on a copy whose longer side is at most this (`FACE_DETECT_MAX_SIDE`); `flip`: each
    /// chip's mirror image is embedded too and the normalised mean kept (`FACE_EMBED_FLIP`, 2× embedding cost).
    public init(
        models: FaceModels, detectMaxSide: Int = FaceModelKind.sface.defaultDetectMaxSide,
        minScore: Float = defaultMinScore, flip: Bool = true
    ) throws(FaceEngineError) {
        self.flip = flip
        descriptor = Self.descriptor(flip: flip)
        detector = try YuNetDetector(
            path: models.path(of: FaceModels.yunet), maxSide: detectMaxSide, minScore: minScore)
        embedder = try OpenCVNet(path: models.path(of: FaceModels.sface))
    }

    /// YuNet's faces, largest first. Phones and webcams send sideways photos without an EXIF tag, and YuNet boxes a
    /// sideways face too, with a lower score and landmarks of an upright face (useless for alignment): when the
    /// surest face scores under `uprightScore` (or there is none), the photo is also tried turned a quarter
    /// clockwise, a quarter anticlockwise and half round, and the turn with the surest face wins. (Trying the turns
    /// on a smaller copy was measured to lose a sideways 150 px face in a 1,880 px photo.)
    public func faceLocations(in photo: RGBImage) throws(FaceEngineError) -> FaceDetection {
        var best = FaceDetection(faces: try detector.faces(in: photo), image: photo, turn: .up)
        var bestScore = best.faces.map(\.score).max() ?? 0
        guard bestScore < Self.uprightScore else { return best }
        for turn: EXIFOrientation in [.right, .left, .down] {
            let turned = photo.applying(turn)
            let faces = try detector.faces(in: turned)
            let score = faces.map(\.score).max() ?? 0
            // A turn must be clearly surer: an upright face of 0.85 does not lose to a spurious turned box.
            if score > bestScore + Self.turnMargin {
                (best, bestScore) = (FaceDetection(faces: faces, image: turned, turn: turn), score)
            }
        }
        return best
    }

    /// Upright faces in real photos score 0.9 and more (shared/faces); sideways ones 0.8–0.87, and the same face
    /// turned upright 0.9 and more.
    static let uprightScore = 0.9
    static let turnMargin = 0.03

    /// The 112 × 112 crop of `face` aligned on its landmarks to the template.
    public func faceChip(for face: DetectedFace, in image: RGBImage) throws(FaceEngineError) -> RGBImage {
        guard face.landmarks.count == 5 else {
            throw .engineFailure("SFace aligns on 5 landmarks, got \(face.landmarks.count)")
        }
        let matrix = similarityTransform(from: face.landmarks, to: Self.template)
        return try image.warped(by: matrix, width: Self.chipSize, height: Self.chipSize)
    }

    public func embeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] {
        try flip ? mirrorAveraged(chips, embed: embed) : embed(chips)
    }

    public func quickEmbeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] { try embed(chips) }

    /// One network call for all chips (a batch shares the layers' set-up).
    private func embed(_ chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] {
        guard !chips.isEmpty else { return [] }
        var blob: [Float] = []
        blob.reserveCapacity(chips.count * 3 * Self.chipSize * Self.chipSize)
        for chip in chips {
            precondition(chip.width == Self.chipSize && chip.height == Self.chipSize, "chips are 112 x 112")
            blob += chip.planarBlob(bgr: false)
        }
        let output = try embedder.forward(
            blob, shape: (chips.count, 3, Self.chipSize, Self.chipSize), outputs: [Self.outputName],
            capacities: [chips.count * Self.embeddingDimensions])[0]
        guard output.count == chips.count * Self.embeddingDimensions else {
            throw .engineFailure("SFace gave \(output.count) values for \(chips.count) faces")
        }
        return (0..<chips.count).map { i in
            l2Normalized(Array(output[(i * Self.embeddingDimensions)..<((i + 1) * Self.embeddingDimensions)]))
        }
    }

    static let outputName = "fc1"
}
