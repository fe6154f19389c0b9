/// The face models facegate can run: `FACE_MODEL`.
public enum FaceModelKind: String, Sendable, CaseIterable {
    /// YuNet detection + SFace embeddings through OpenCV's dnn module (the default: it tells members from
    /// strangers; README, "Accuracy").
    case sface
    /// dlib's HOG/CNN detection + ResNet embeddings.
    case dlib

    /// The longer side of the copy faces are looked for on, unless `FACE_DETECT_MAX_SIDE` says otherwise: dlib's
    /// HOG needs faces of 80 px, so 640; YuNet finds faces of about 10 px, and its cost grows with the area, so 416
    /// (on the check-in photo set it finds every face there as at 640, in half the time; README, "Configuration").
    public var defaultDetectMaxSide: Int {
        switch self {
        case .dlib: 640
        case .sface: 416
        }
    }

    /// The descriptor of this model under `settings` (which matter to dlib only).
    public func descriptor(settings: FaceEngineSettings) -> FaceModelDescriptor {
        switch self {
        case .dlib: DlibRecognizer.descriptor(settings: settings)
        case .sface: SFaceRecognizer.descriptor(flip: settings.flipAugmentation)
        }
    }

    /// Loads one recognizer of this model (one per engine thread).
    public func makeRecognizer(models: FaceModels, settings: FaceEngineSettings) throws(FaceEngineError)
        -> any FaceRecognizer
    {
        switch self {
        case .dlib: try DlibRecognizer(models: models, settings: settings)
        case .sface:
            try SFaceRecognizer(
                models: models, detectMaxSide: settings.detectSide(for: self),
                flip: settings.flipAugmentation)
        }
    }
}

extension FaceEngineSettings {
    /// The longer side of the detection copy for `model`: `detectMaxSide`, or the model's own default.
    public func detectSide(for model: FaceModelKind) -> Int { detectMaxSide ?? model.defaultDetectMaxSide }
}
