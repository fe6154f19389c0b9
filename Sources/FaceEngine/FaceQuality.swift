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

    public init(face: DetectedFace, chip: RGBImage) {
        faceSize = min(face.box.width, face.box.height)
        sharpness = Self.laplacianVariance(chip)
        (yaw, roll) = Self.pose(face.landmarks)
        detectionScore = face.score
    }

    /// (yaw, roll) in degrees from dlib's 5 landmarks (0–1 one eye's corners, 2–3 the other's, 4 the nose base).
    /// Yaw: the nose base sits midway between the eyes on a frontal face and moves towards one eye as the head
    /// turns by about 0.55 × the eye distance × sin(yaw) (nose depth relative to eye spacing on adult faces).
    public static func pose(_ landmarks: [Point]) -> (yaw: Double, roll: Double) {
        guard landmarks.count == 5 else { return (0, 0) }
        func mid(_ a: Point, _ b: Point) -> (Double, Double) { (Double(a.x + b.x) / 2, Double(a.y + b.y) / 2) }
        var eyeA = mid(landmarks[0], landmarks[1]), eyeB = mid(landmarks[2], landmarks[3])
        if eyeA.0 > eyeB.0 { swap(&eyeA, &eyeB) }  // eyeA is the one on the image's left
        let dx = eyeB.0 - eyeA.0, dy = eyeB.1 - eyeA.1
        let eyeDistance = (dx * dx + dy * dy).squareRoot()
        guard eyeDistance > 0 else { return (0, 0) }
        let roll = atan2(dy, dx) * 180 / .pi
        // Nose offset along the eye line from the eyes' midpoint, as a fraction of the eye distance.
        let nose = (Double(landmarks[4].x), Double(landmarks[4].y))
        let centre = ((eyeA.0 + eyeB.0) / 2, (eyeA.1 + eyeB.1) / 2)
        let along = ((nose.0 - centre.0) * dx + (nose.1 - centre.1) * dy) / (eyeDistance * eyeDistance)
        let yaw = asin(max(-1, min(1, along / 0.55))) * 180 / .pi
        return (yaw, roll)
    }

    public static func laplacianVariance(_ image: RGBImage) -> Double {
        let w = image.width, h = image.height
        guard w >= 3, h >= 3 else { return 0 }
        var grey = [Double](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            grey[i] = 0.299 * Double(image.pixels[3 * i]) + 0.587 * Double(image.pixels[3 * i + 1])
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
