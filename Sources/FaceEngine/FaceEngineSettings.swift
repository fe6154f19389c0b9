/// How the engines find and embed faces, for either model (`FACE_DETECTOR`, `FACE_DETECT_*`, `FACE_EMBED_FLIP`; the
/// HOG settings are dlib's alone).
public struct FaceEngineSettings: Sendable, Equatable {
    public var detector: FaceDetectorKind = .hog
    /// Detection runs on a copy whose longer side is at most this; boxes are mapped back to the full image. nil:
    /// the model's own default (`FaceModelKind.defaultDetectMaxSide`).
    public var detectMaxSide: Int?
    /// Times the detection copy is doubled before detecting, to find faces under ~80 px (HOG) at a 4× cost each.
    public var upsample: Int = 0
    /// HOG decision threshold; higher finds fewer, surer faces. 0.2 rather than dlib's 0: on shared/faces it
    /// removed 7 of 8 spurious detections with LFW and 1:N accuracy unchanged (README, `FACE_DETECT_HOG_THRESHOLD`).
    public var hogThreshold: Double = 0.2
    /// Test-time augmentation: embed each chip and its mirror image and use the normalised mean (2× embed cost).
    public var flipAugmentation = true
    /// With the HOG detector: when it finds no face, try the CNN detector on the same (downscaled) copy.
    public var cnnFallback = true
    /// With the HOG detector: when it finds no face, try the photo turned by 90°, −90° and 180° (photos from phones
    /// and webcams often arrive sideways with no EXIF orientation) before the CNN fallback.
    public var rotationFallback = true
    /// With the HOG detector: when the detection copy shows no face, look once more on a finer copy whose longer side
    /// is at most this (never beyond the photo's own size) before turning the photo or the CNN: a person standing
    /// back has a face too small for the window on the 640 px copy. 0 turns it off.
    public var fineMaxSide = 2560

    public init() {}
}
