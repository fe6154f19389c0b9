/// The quality gates a photo must pass before its face is enrolled. A check-in photo is only matched, never
/// gated: a poor probe just fails to match, while a poor enrolment spoils every later check-in of that member.
/// Thresholds come from the `ENROL_*` variables (README, "Configuration").
public struct EnrolmentGate: Sendable, Equatable {
    /// `ENROL_MIN_FACE_PIXELS`: the face box's shorter side in the full-resolution photo.
    public var minFaceSize = 80
    /// `ENROL_MIN_SHARPNESS`: variance of the Laplacian over the model's aligned chip (dlib 150 px, SFace 112 px).
    public var minSharpness = 8.0
    /// `ENROL_MAX_YAW_DEGREES`: head turned left or right.
    public var maxYaw = 30.0
    /// `ENROL_MAX_ROLL_DEGREES`: head tilted sideways (after EXIF orientation).
    public var maxRoll = 25.0
    /// `ENROL_ALLOW_MULTIPLE_FACES`: enrol the largest face of a group photo instead of refusing it.
    public var allowMultipleFaces = false

    public init() {}

    /// The defaults for a model's measures: YuNet's boxes are tighter than dlib's (median 93 vs 104 px on the same
    /// LFW faces) and SFace's 112 px chip is a tighter, sharper crop than dlib's padded 150 px one (median sharpness
    /// 171 vs 49 on the same photos), so the same faces pass the same gates.
    public init(model: FaceModelKind) {
        switch model {
        case .dlib: break
        case .sface:
            minFaceSize = 72
            minSharpness = 28
        }
    }

    /// The face to enrol, or the first gate the photo fails. `faces` come largest first, as `faceEncodings(in:)`
    /// returns them. Another face counts when it is at least half the size of the largest: a small face in the
    /// background does not make the subject ambiguous (a better detector finds many), one of similar size does.
    public func check(_ faces: [FaceEncoding]) throws(EnrolmentRejection) -> FaceEncoding {
        guard let face = faces.first else { throw .noFace }
        let others = faces.dropFirst().filter { $0.quality.faceSize * 2 >= face.quality.faceSize }
        if !others.isEmpty && !allowMultipleFaces { throw .multipleFaces(count: others.count + 1) }
        let quality = face.quality
        if quality.faceSize < minFaceSize { throw .faceTooSmall(size: quality.faceSize, minimum: minFaceSize) }
        if abs(quality.yaw) > maxYaw || abs(quality.roll) > maxRoll {
            throw .poseTooFar(yaw: quality.yaw, roll: quality.roll, maxYaw: maxYaw, maxRoll: maxRoll)
        }
        if quality.sharpness < minSharpness { throw .tooBlurry(sharpness: quality.sharpness, minimum: minSharpness) }
        return face
    }
}

/// Why a photo cannot be enrolled (each case has its code in the error catalogue, `ErrorCode`: HTTP 422).
public enum EnrolmentRejection: Error, Equatable, CustomStringConvertible {
    case noFace
    case multipleFaces(count: Int)
    case faceTooSmall(size: Int, minimum: Int)
    case poseTooFar(yaw: Double, roll: Double, maxYaw: Double, maxRoll: Double)
    case tooBlurry(sharpness: Double, minimum: Double)

    public var description: String {
        switch self {
        case .noFace:
            "no face was found in the photo"
        case .multipleFaces(let count):
            "the photo shows \(count) faces; enrol from a photo of the member alone"
        case .faceTooSmall(let size, let minimum):
            "the face is \(size) pixels across; at least \(minimum) are needed"
        case .poseTooFar(let yaw, let roll, let maxYaw, let maxRoll):
            "the head is turned \(Int(yaw.rounded()))° and tilted \(Int(roll.rounded()))°; at most \(Int(maxYaw))° "
                + "and \(Int(maxRoll))° are accepted, so face the camera"
        case .tooBlurry(let sharpness, let minimum):
            "the face is too blurry (sharpness \(Int(sharpness)), at least \(Int(minimum)) needed)"
        }
    }
}
