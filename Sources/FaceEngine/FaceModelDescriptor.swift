/// Where a face model puts its five landmarks, which the pose estimate and the alignment read.
public enum LandmarkLayout: String, Sendable, Equatable {
    /// dlib's 5-point shape model: the two corners of one eye (0–1), of the other (2–3), the base of the nose (4).
    case dlibEyeCornersNoseBase = "dlib-5"
    /// YuNet's (and ArcFace's): the centre of the right eye (0) and of the left eye (1) of the person, the nose tip
    /// (2), the right (3) and the left (4) mouth corner. The person's right eye is on the image's left.
    case eyesNoseTipMouthCorners = "eyes-nose-mouth-5"
}

/// What the service must know of a face model, kept with the model rather than scattered as constants: its name and
/// version (from the files' checksums, stored on every face row so that faces of different models are never
/// compared), the embedding size, the landmark layout, the files it loads and its false-match curve.
public struct FaceModelDescriptor: Sendable, Equatable {
    /// `FACE_MODEL`'s value: `dlib`, `sface`.
    public let name: String
    /// The `faces.model` column of this model's faces: the name, except for dlib, whose faces have always been
    /// stored under its embedder's file name (kept, so that no migration rewrites every row and instances of an
    /// earlier version writing during a rolling upgrade stay readable).
    public let storedName: String
    /// The `faces.model_version` column: the embedder file's checksum prefix, plus options that change the vectors.
    public let version: String
    public let dimension: Int
    public let landmarkLayout: LandmarkLayout
    /// The face detector the model finds faces with (`yunet`; dlib's `hog` or `cnn`), as reports name it.
    public let detector: String
    public let files: [FaceModels.File]
    /// Impostor distances of this model (`facegate eval impostors`), from which tolerances are derived.
    public let falseMatches: FalseMatchCurve

    public init(
        name: String, storedName: String? = nil, version: String, dimension: Int, landmarkLayout: LandmarkLayout,
        detector: String, files: [FaceModels.File], falseMatches: FalseMatchCurve
    ) {
        self.name = name
        self.storedName = storedName ?? name
        self.version = version
        self.dimension = dimension
        self.landmarkLayout = landmarkLayout
        self.detector = detector
        self.files = files
        self.falseMatches = falseMatches
    }
}
