import FaceEngine
import Foundation

/// Which way a challenge asks the person to turn their head, in their own terms: `left` is their own left, so in
/// the camera's unmirrored image their nose moves towards the image's right edge.
public enum TurnDirection: String, Sendable, CaseIterable, Codable {
    case left, right

    /// +1 when the asked turn moves the nose towards the image's right (the yaw estimate grows), −1 otherwise.
    var sign: Double { self == .left ? 1 : -1 }
}

/// Why the frames of a challenge are not a live head turning the asked way (`reason` of 422 `liveness_failed`).
public enum LivenessRefusal: String, Sendable, CaseIterable {
    /// The head (or the picture) did not turn far enough.
    case noTurn = "no_turn"
    /// The head turned the other way.
    case wrongDirection = "wrong_direction"
    /// What turned moved as a flat or bent sheet does: the nose stayed where the plane of the eyes and mouth puts it.
    case flatFace = "flat_face"
    /// A frame repeats another, the face jumps, or one step carries the whole turn.
    case notContinuous = "not_continuous"
    /// The frames show more than one person.
    case differentPeople = "different_people"
    /// A frame shows no face.
    case faceMissing = "face_missing"
}

/// The thresholds of the check. Defaults come from the noise of YuNet's landmarks measured by `facegate eval
/// liveness` on real frames (the parallax of still faces and of flat prints) and from what a prompted turn looks
/// like (README, "Liveness"); only `minTurnDegrees` is the operator's (`LIVENESS_MIN_TURN_DEGREES`).
public struct LivenessSettings: Sendable, Equatable {
    /// How far the head must turn the asked way, in degrees of the yaw estimate.
    public var minTurnDegrees: Double
    /// The nose's parallax (its offset from where the plane of the eyes and mouth corners puts it, in face heights:
    /// the distance between the eyes' and the mouth's midpoints) must reach this share of how far the nose moved
    /// against the eyes and mouth (all of it for a real nose, none for a picture).
    public var minDepthShare: Double
    /// And at least this, whatever the turn: several times the parallax's measured noise on still faces.
    public var minParallax: Double
    /// The largest step between two frames may carry at most this share of the turn.
    public var maxStepShare: Double
    /// Between two frames the face may move by at most this many face heights, and change its size by at most this
    /// factor.
    public var maxShift: Double
    public var maxScaleChange: Double
    /// Two frames whose landmarks all lie within this many pixels and whose fingerprints differ by less than this
    /// mean grey level are one frame sent twice.
    public var copyLandmarkPixels: Double
    public var copyGreyLevels: Double

    public static let `default` = LivenessSettings(
        minTurnDegrees: 20, minDepthShare: 0.5, minParallax: 0.06, maxStepShare: 0.7, maxShift: 1.5,
        maxScaleChange: 1.5, copyLandmarkPixels: 0.25, copyGreyLevels: 0.5)

    public init(
        minTurnDegrees: Double, minDepthShare: Double, minParallax: Double, maxStepShare: Double, maxShift: Double,
        maxScaleChange: Double, copyLandmarkPixels: Double, copyGreyLevels: Double
    ) {
        self.minTurnDegrees = minTurnDegrees
        self.minDepthShare = minDepthShare
        self.minParallax = minParallax
        self.maxStepShare = maxStepShare
        self.maxShift = maxShift
        self.maxScaleChange = maxScaleChange
        self.copyLandmarkPixels = copyLandmarkPixels
        self.copyGreyLevels = copyGreyLevels
    }
}

/// What the check measured of a sequence, whatever it decided (for the attempt record, metrics and the eval).
public struct LivenessMeasures: Sendable, Equatable, Codable {
    /// Yaw estimate of each frame, degrees; positive: the nose towards the image's right.
    public var yaw: [Double]
    /// The furthest turn the asked way from an earlier frame, and the other way from the first frame (degrees, ≥ 0).
    public var turn: Double
    public var oppositeTurn: Double
    /// How far the eye distance foreshortened at most against the nose's drop below the eye line, as the angle a
    /// sheet would have turned (degrees).
    public var sheetTurn: Double
    /// The nose's parallax at the most turned frame against the turn's start, the asked way, in face heights, and what
    /// a real nose shows for that turn (how far it moved against the eyes and mouth).
    public var parallax: Double
    public var expectedParallax: Double
    /// The largest single step's share of the turn.
    public var stepShare: Double
    /// The frame the turn starts from (the least turned the asked way before the most turned one), and how far that
    /// frame lies the other way from the first (degrees, ≥ 0: a look aside before turning, or a wrong turn).
    public var startFrame: Int
    public var startExcursion: Double
    /// The frame to identify the person from (the most frontal) and the one compared with it (the most turned).
    public var frontalFrame: Int
    public var turnedFrame: Int
}

/// Whether frames captured for a challenge show one live head turning the asked way: pure geometry on the five
/// landmarks of each frame's largest face.
///
/// - **Turn**: the yaw estimate (the nose's offset along the eye line from the midpoint of eyes and mouth, against a
///   generic face's nose depth, `Geometry.yaw`) must move the asked way by `minTurnDegrees` from an earlier frame. A
///   picture moved or turned as a whole keeps that offset (a plane keeps ratios along a line), so a print "turns" by
///   nothing — though YuNet, which places landmarks with a face's shape in mind, sees a print turned 30–40° as a head
///   turned 10–15° (`facegate eval liveness`), which is why the minimum is 20°.
/// - **Depth**: between the turn's start and its most turned frame, the eyes and mouth corners fix a homography:
///   where the nose of a picture would be. A real nose stands 2–3 cm in front of that plane and lands off it, the asked way,
///   by as much as it moved against the eyes and mouth; perspective alone (a sheet turned close to the camera) can
///   fake a little yaw but no parallax.
/// - **Continuity**: no frame repeats another, the face never jumps, and no single step carries the whole turn (a
///   frontal print swapped for a turned one). The kiosk samples the capture where the picture moves
///   (`ChallengeCapture`), so even a quick turn has frames on its way.
/// The identity check (one person throughout) needs embeddings and is the caller's (`ChallengeFrames`).
public struct LivenessCheck: Sendable {
    public let settings: LivenessSettings

    public init(settings: LivenessSettings = .default) {
        self.settings = settings
    }

    /// Degrees of yaw by which a frame must lie outside the turn's path (from the first frame and the turn's start
    /// through the most frontal to the most turned) to be checked for identity too (`ChallengeFrames`): more than a turn's frames scatter.
    public static let poseApart = 10.0

    /// Degrees of apparent sheet turn a live face shows without turning (expressions, nods: up to 17° on the shared
    /// clips' frontal stretches): a turned sheet must show this much more than the minimum turn to be called flat.
    static let sheetTurnNoise = 5.0

    /// The yaw estimate of a face, degrees (positive: the nose towards the image's right).
    public static func yaw(_ landmarks: [Point]) -> Double { Geometry(landmarks).yaw }

    /// The distance between the eyes' midpoint and the mouth's, pixels: the face's scale that a turn barely changes.
    public static func faceHeight(_ landmarks: [Point]) -> Double { Geometry(landmarks).height }

    /// The frames' measures (every frame with a face). The turn is the furthest the yaw went the asked way from an
    /// earlier frame (`startFrame`: a person may look a little aside when the capture begins, or come back before it
    /// ends; a start a whole turn the other way is refused as the wrong way); its depth and its steps are read between
    /// that frame and the most turned one.
    public func measure(_ frames: [LivenessFrame], asked: TurnDirection) -> LivenessMeasures {
        let faces = frames.map { Geometry($0.landmarks) }
        let yaw = faces.map(\.yaw)
        let signed = yaw.map { asked.sign * $0 }
        let (start, turned, turn) = Self.furthestProgression(signed) ?? (0, 0, 0)
        // The other way from the first frame (a head coming back from the turn did not turn the wrong way).
        let opposite = max(0, signed[0] - (signed.min() ?? signed[0]))
        let frontal = yaw.indices.min { abs(yaw[$0]) < abs(yaw[$1]) } ?? 0
        let steps = zip(signed[start...].dropFirst(), signed[start...]).map { $0 - $1 }.prefix(max(turned - start, 1))
        let stepShare = turn > 0 ? (steps.max() ?? 0) / turn : 1
        let sheetTurn = frames.map { Self.foreshortening($0.landmarks, against: frames[0].landmarks) }.max() ?? 0
        let parallax = asked.sign * Self.parallax(of: frames[turned].landmarks, against: frames[start].landmarks)
        // A real nose moves off the plane by as much as it moved against the eyes and mouth.
        let expected = abs(faces[turned].noseOffset - faces[start].noseOffset)
        return LivenessMeasures(
            yaw: yaw, turn: turn, oppositeTurn: opposite, sheetTurn: sheetTurn, parallax: parallax,
            expectedParallax: expected, stepShare: stepShare, startFrame: start,
            startExcursion: max(0, signed[0] - signed[start]), frontalFrame: frontal,
            turnedFrame: turned == frontal ? (frontal == frames.count - 1 ? 0 : frames.count - 1) : turned)
    }

    /// The largest rise of `values` from an earlier value to a later one: (the earlier index, the later one, the rise);
    /// nil when they never rise.
    static func furthestProgression(_ values: [Double]) -> (from: Int, to: Int, amount: Double)? {
        var low = 0, best: (from: Int, to: Int, amount: Double)?
        for j in values.indices {
            if values[j] < values[low] { low = j }
            let rise = values[j] - values[low]
            if rise > (best?.amount ?? 0) { best = (low, j, rise) }
        }
        return best
    }

    /// The refusal for these frames (nil: a live turn the asked way), with what was measured. Checks in the order of
    /// `LivenessRefusal`'s reasons from the most basic: faces, continuity, then the turn and its depth.
    public func judge(
        _ frames: [LivenessFrame?], asked: TurnDirection
    ) -> (refusal: LivenessRefusal?, measures: LivenessMeasures?) {
        let found = frames.compactMap { $0 }
        guard found.count == frames.count, found.count >= 2,
            found.allSatisfy({ $0.landmarks.count == 5 && Geometry($0.landmarks).height > 0 })
        else {
            return (.faceMissing, nil)
        }
        let measures = measure(found, asked: asked)
        let broken = zip(found, found.dropFirst()).contains { isCopy($0, $1) || jumps(from: $0, to: $1) }
        return (broken ? .notContinuous : refusal(for: measures), measures)
    }

    /// The decision on measured frames (continuity of the face already checked).
    public func refusal(for m: LivenessMeasures) -> LivenessRefusal? {
        let deep = m.parallax >= max(settings.minParallax, settings.minDepthShare * m.expectedParallax)
        // A turn that starts from a full turn the other way is that turn coming back: the wrong way.
        if m.startExcursion >= settings.minTurnDegrees { return .wrongDirection }
        guard m.turn >= settings.minTurnDegrees else {
            if m.oppositeTurn >= settings.minTurnDegrees { return .wrongDirection }
            // A real head that turned too little, or a sheet that turned with the nose staying in it: turned further
            // than a talking or nodding face seems to (`sheetTurnNoise`), and more than twice as far as the nose went.
            let sheet =
                m.sheetTurn >= settings.minTurnDegrees + Self.sheetTurnNoise
                && max(m.turn, m.oppositeTurn) < m.sheetTurn / 2
            return sheet ? .flatFace : .noTurn
        }
        if !deep { return .flatFace }
        if m.stepShare > settings.maxStepShare { return .notContinuous }
        return nil
    }

    func isCopy(_ a: LivenessFrame, _ b: LivenessFrame) -> Bool {
        let moved = zip(a.landmarks, b.landmarks).map { hypot(Double($0.x - $1.x), Double($0.y - $1.y)) }.max() ?? 0
        guard moved <= settings.copyLandmarkPixels, a.fingerprint.count == b.fingerprint.count,
            !a.fingerprint.isEmpty
        else { return false }
        let difference = zip(a.fingerprint, b.fingerprint).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        return Double(difference) / Double(a.fingerprint.count) < settings.copyGreyLevels
    }

    func jumps(from a: LivenessFrame, to b: LivenessFrame) -> Bool {
        let p = Geometry(a.landmarks), q = Geometry(b.landmarks)
        let shift = hypot(q.centre.x - p.centre.x, q.centre.y - p.centre.y) / max(p.height, q.height)
        return shift > settings.maxShift || max(p.height, q.height) / min(p.height, q.height) > settings.maxScaleChange
    }

    /// The nose's offset in `turned` from where the homography of the eyes and mouth corners of `first` puts it, along
    /// `turned`'s eye line (positive towards the image's right), in `turned`'s face heights. Both frames are first
    /// put into face coordinates (centre at the origin, face height 1), which keeps the 8×8 system well conditioned.
    static func parallax(of turned: [Point], against first: [Point]) -> Double {
        let a = Geometry(first), b = Geometry(turned)
        let from = a.normalized(first), to = b.normalized(turned)
        let plane = [0, 1, 3, 4]
        guard let h = Homography(from: plane.map { from[$0] }, to: plane.map { to[$0] }) else { return 0 }
        let predicted = h.apply(from[2])
        let dx = Double(to[2].x) - predicted.x, dy = Double(to[2].y) - predicted.y
        return dx * b.eyeAxis.x + dy * b.eyeAxis.y
    }

    /// The angle a sheet would have turned about its vertical axis to shorten (or lengthen) the eye distance against
    /// the nose's drop below the eye line as much as from `first` to `frame`, degrees (both rigid on a talking face,
    /// unlike the mouth).
    static func foreshortening(_ frame: [Point], against first: [Point]) -> Double {
        let a = Geometry(first), b = Geometry(frame)
        guard a.noseDrop > 0, b.noseDrop > 0 else { return 0 }
        let ra = a.eyeDistance / a.noseDrop, rb = b.eyeDistance / b.noseDrop
        guard ra > 0, rb > 0 else { return 0 }
        return acos(min(ra, rb) / max(ra, rb)) * 180 / .pi
    }
}

/// The measures of one face the check reads from its five landmarks.
struct Geometry {
    /// Midpoint of the eyes' and the mouth's midpoints.
    var centre: (x: Double, y: Double)
    /// Distance between the eyes' midpoint and the mouth's: barely changed by a turn about the vertical axis.
    var height: Double
    var eyeDistance: Double
    /// Unit vector from the image-left eye to the image-right one.
    var eyeAxis: (x: Double, y: Double)
    /// How far the nose tip lies below the eye line (perpendicular to it), pixels.
    var noseDrop: Double
    /// The nose tip's offset along the eye line from the centre, in face heights (positive: towards the image's
    /// right).
    var noseOffset: Double
    /// The head's turn, degrees (positive: the nose towards the image's right, the person's own left): a nose standing
    /// `noseDepth` eye distances in front of the eyes and mouth moves along the eye line by noseDepth × tan(yaw) of
    /// the eye distance as seen (which shortens with cos(yaw)).
    var yaw: Double

    /// How far a nose tip stands in front of the plane of the eyes' centres and the mouth's corners, in eye
    /// distances: 0.43 in the generic 3D face used for head pose (nose tip 130, eyes 135 and mouth corners 125 units
    /// behind it, eyes 300 apart); the shared clips' turns, against a third-party yaw estimate, give 0.3–0.65.
    static let noseDepth = 0.43

    init(_ landmarks: [Point]) {
        guard landmarks.count == 5 else {
            centre = (0, 0)
            height = 0
            eyeDistance = 0
            eyeAxis = (1, 0)
            noseOffset = 0
            yaw = 0
            noseDrop = 0
            return
        }
        let p = landmarks.map { (x: Double($0.x), y: Double($0.y)) }
        let eyes = ((p[0].x + p[1].x) / 2, (p[0].y + p[1].y) / 2)
        let mouth = ((p[3].x + p[4].x) / 2, (p[3].y + p[4].y) / 2)
        centre = ((eyes.0 + mouth.0) / 2, (eyes.1 + mouth.1) / 2)
        height = hypot(mouth.0 - eyes.0, mouth.1 - eyes.1)
        var dx = p[1].x - p[0].x, dy = p[1].y - p[0].y
        if dx < 0 { (dx, dy) = (-dx, -dy) }
        eyeDistance = hypot(dx, dy)
        eyeAxis = eyeDistance > 0 ? (dx / eyeDistance, dy / eyeDistance) : (1, 0)
        let along = (p[2].x - centre.0) * eyeAxis.x + (p[2].y - centre.1) * eyeAxis.y
        noseOffset = height > 0 ? along / height : 0
        noseDrop = abs(-(p[2].x - eyes.0) * eyeAxis.y + (p[2].y - eyes.1) * eyeAxis.x)
        yaw = eyeDistance > 0 ? atan(along / eyeDistance / Self.noseDepth) * 180 / .pi : 0
    }

    /// The landmarks in face coordinates: centred, in face heights.
    func normalized(_ landmarks: [Point]) -> [Point] {
        landmarks.map {
            Point(x: Float((Double($0.x) - centre.x) / height), y: Float((Double($0.y) - centre.y) / height))
        }
    }
}
