import Foundation
import ImageDecoding

/// Measures used by the enrolment quality gates. Pure functions of a detected face and its chip.
public struct FaceQuality: Sendable, Equatable, Codable {
    /// Shorter side of the face box in full-image pixels.
    public var faceSize: Int
    /// Variance of the 4-neighbour Laplacian over the chip's grey levels: low means blurry.
    public var sharpness: Double
    /// Estimated head turn left/right in degrees (0 = frontal), from the nose's offset between the eyes.
    public var yaw: Double
    /// In-plane tilt of the eye line in degrees.
    public var roll: Double
    public var detectionScore: Double

    public init(face: DetectedFace, chip: RGBImage, layout: LandmarkLayout) {
        faceSize = min(face.box.width, face.box.height)
        sharpness = Self.laplacianVariance(chip)
        (yaw, roll) = Self.pose(face.landmarks, layout: layout)
        detectionScore = face.score
    }

    /// (yaw, roll) in degrees from five landmarks laid out as `layout` says. Roll: the slope of the line between
    /// the eyes. Yaw: the nose sits on the face's midline on a frontal face and moves along the eye line as the head
    /// turns, by about depth × the eye distance × sin(yaw), depth being how far the nose point stands out in front of
    /// the eyes relative to their spacing: 0.55 for dlib's nose base (measured against the midpoint of the eyes), 0.65
    /// for YuNet's nose tip (against the midpoint of eyes and mouth corners).
    public static func pose(_ landmarks: [Point], layout: LandmarkLayout) -> (yaw: Double, roll: Double) {
        guard landmarks.count == 5 else { return (0, 0) }
        func point(_ p: Point) -> (Double, Double) { (Double(p.x), Double(p.y)) }
        func mid(_ a: (Double, Double), _ b: (Double, Double)) -> (Double, Double) {
            ((a.0 + b.0) / 2, (a.1 + b.1) / 2)
        }
        var eyeA: (Double, Double), eyeB: (Double, Double), nose: (Double, Double), depth: Double
        let midline: (Double, Double)
        switch layout {
        case .dlibEyeCornersNoseBase:
            eyeA = mid(point(landmarks[0]), point(landmarks[1]))
            eyeB = mid(point(landmarks[2]), point(landmarks[3]))
            nose = point(landmarks[4])
            midline = mid(eyeA, eyeB)
            depth = 0.55
        case .eyesNoseTipMouthCorners:
            eyeA = point(landmarks[0])
            eyeB = point(landmarks[1])
            nose = point(landmarks[2])
            midline = mid(mid(eyeA, eyeB), mid(point(landmarks[3]), point(landmarks[4])))
            depth = 0.65
        }
        if eyeA.0 > eyeB.0 { swap(&eyeA, &eyeB) }  // eyeA is the one on the image's left
        let dx = eyeB.0 - eyeA.0, dy = eyeB.1 - eyeA.1
        let eyeDistance = (dx * dx + dy * dy).squareRoot()
        guard eyeDistance > 0 else { return (0, 0) }
        let roll = atan2(dy, dx) * 180 / .pi
        // Nose offset along the eye line from the midline, as a fraction of the eye distance.
        let along = ((nose.0 - midline.0) * dx + (nose.1 - midline.1) * dy) / (eyeDistance * eyeDistance)
        let yaw = asin(max(-1, min(1, along / depth))) * 180 / .pi
        return (yaw, roll)
    }

    public static func laplacianVariance(_ image: RGBImage) -> Double {
        let w = image.width, h = image.height
        guard w >= 3, h >= 3 else { return 0 }
        var grey = [Double](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            grey[i] =
                0.299 * Double(image.pixels[3 * i]) + 0.587 * Double(image.pixels[3 * i + 1])
                + 0.114 * Double(image.pixels[3 * i + 2])
        }
        var sum = 0.0, sumSquares = 0.0
        for y in 1..<(h - 1) {
            for x in 1..<(w - 1) {
                let i = y * w + x
                let value = grey[i - 1] + grey[i + 1] + grey[i - w] + grey[i + w] - 4 * grey[i]
                sum += value
                sumSquares += value * value
            }
        }
        let n = Double((w - 2) * (h - 2))
        return sumSquares / n - (sum / n) * (sum / n)
    }
}

extension FaceQuality {
    /// The measures stored with a face and shown by the API.
    public var measures: [String: Double] {
        [
            "face_size": Double(faceSize), "sharpness": sharpness, "yaw": yaw, "roll": roll,
            "detection_score": detectionScore,
        ]
    }
}
