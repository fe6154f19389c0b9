import FaceEngine
import ImageDecoding

/// A deterministic stand-in for a face model, for tests about authentication, HTTP and storage rather than faces:
/// `buildApplication(configuration, recognizers: .made { TestRecognizer() })` runs without model files. A photo of one
/// colour has no face; any other has one, the central square (60 % of its shorter side) with frontal landmarks. Its
/// embedding is the 112 px chip's 8 × 16 grid of mean brightness, centred and normalised: the same photo gives the same
/// vector, different photos different ones. Nothing here says anything about recognising faces.
public final class TestRecognizer: FaceRecognizer {
    public static let model = FaceModelDescriptor(
        name: "test", version: "1", dimension: 128, landmarkLayout: .eyesNoseTipMouthCorners, detector: "test",
        files: [],
        falseMatches: FalseMatchCurve(knots: [(distance: 0.05, far: 1e-6), (distance: 0.5, far: 0.5)]))

    public var descriptor: FaceModelDescriptor { Self.model }
    static let chipSize = 112

    public init() {}

    public func faceLocations(in photo: RGBImage) throws(FaceEngineError) -> FaceDetection {
        let first = photo.pixels.prefix(3)
        let uniform = stride(from: 0, to: photo.pixels.count, by: 3).allSatisfy {
            photo.pixels[$0] == first[0] && photo.pixels[$0 + 1] == first[1] && photo.pixels[$0 + 2] == first[2]
        }
        guard !uniform else { return FaceDetection(faces: [], image: photo, turn: .up) }
        let side = max(1, min(photo.width, photo.height) * 3 / 5)
        let box = FaceBox(x: (photo.width - side) / 2, y: (photo.height - side) / 2, width: side, height: side)
        func point(_ x: Float, _ y: Float) -> Point {
            Point(x: Float(box.x) + x * Float(side), y: Float(box.y) + y * Float(side))
        }
        let landmarks = [point(0.34, 0.40), point(0.66, 0.40), point(0.5, 0.58), point(0.38, 0.76), point(0.62, 0.76)]
        return FaceDetection(
            faces: [DetectedFace(box: box, score: 0.99, landmarks: landmarks)], image: photo, turn: .up)
    }

    /// The box resampled (nearest pixel) to 112 × 112.
    public func faceChip(for face: DetectedFace, in image: RGBImage) throws(FaceEngineError) -> RGBImage {
        let size = Self.chipSize
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            let sourceY = min(image.height - 1, face.box.y + y * face.box.height / size)
            for x in 0..<size {
                let sourceX = min(image.width - 1, face.box.x + x * face.box.width / size)
                let source = (sourceY * image.width + sourceX) * 3, target = (y * size + x) * 3
                pixels[target] = image.pixels[source]
                pixels[target + 1] = image.pixels[source + 1]
                pixels[target + 2] = image.pixels[source + 2]
            }
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }

    public func embeddings(of chips: [RGBImage]) throws(FaceEngineError) -> [[Float]] {
        chips.map { chip in
            var cells = [Float](repeating: 0, count: 128)
            for y in 0..<chip.height {
                for x in 0..<chip.width {
                    let i = (y * chip.width + x) * 3
                    let brightness = Float(chip.pixels[i]) + Float(chip.pixels[i + 1]) + Float(chip.pixels[i + 2])
                    cells[(y * 16 / chip.height) * 8 + x * 8 / chip.width] += brightness
                }
            }
            let mean = cells.reduce(0, +) / 128
            let centred = cells.map { $0 - mean }
            let norm = centred.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? centred.map { $0 / norm } : [Float](repeating: 1 / Float(128).squareRoot(), count: 128)
        }
    }
}
