import Foundation
import ImageDecoding
import Testing

@testable import FaceEngine

/// The pure parts of the face models: false-match curves, alignment, boxes, crops, suppression, the group-photo rule.
@Suite("Curves, alignment and boxes")
struct GeometryAndCurveTests {
    let curve = FalseMatchCurve(knots: [(0.4, 1e-6), (0.5, 1e-4), (0.6, 1e-2), (0.8, 0.5)])

    @Test("a false-match curve interpolates log-linearly, inverts itself, and extends below its first knot strictly")
    func falseMatchCurve() {
        #expect(abs(curve.falseMatchRate(at: 0.45) - 1e-5) < 1e-9)
        #expect(abs(curve.tolerance(forFalseMatchRate: 1e-3) - 0.55) < 1e-6)
        for far in [2e-6, 3.7e-5, 4e-3, 0.2] {
            #expect(abs(curve.falseMatchRate(at: curve.tolerance(forFalseMatchRate: far)) / far - 1) < 1e-4, "\(far)")
        }
        // Beyond the measured range, smaller rates give smaller (stricter) tolerances, never the first knot's.
        #expect(curve.tolerance(forFalseMatchRate: 1e-8) < curve.tolerance(forFalseMatchRate: 1e-7))
        #expect(curve.tolerance(forFalseMatchRate: 1e-7) < 0.4)
        #expect(curve.falseMatchRate(at: 0.35) < 1e-6)
        // FPIR over N independent comparisons.
        #expect(abs(FalseMatchCurve.falseMatchRate(forFPIR: 0.01, comparisons: 1) - 0.01) < 1e-12)
        #expect(abs(1 - pow(1 - FalseMatchCurve.falseMatchRate(forFPIR: 0.01, comparisons: 194), 194) - 0.01) < 1e-9)
    }

    @Test("the shipped SFace curve gives the tolerances the README reports")
    func shippedCurve() {
        let sface = SFaceRecognizer.descriptor(flip: true).falseMatches
        #expect(abs(sface.tolerance(forFPIR: 0.01, comparisons: 194) - 0.5563) < 5e-4)
        #expect(abs(sface.tolerance(forFPIR: 0.01, comparisons: 1) - 0.706) < 1e-3)
        let dlib = DlibRecognizer.descriptor(settings: .init()).falseMatches
        #expect(abs(dlib.tolerance(forFPIR: 0.01, comparisons: 194) - 0.0555) < 5e-4)
    }

    @Test("alignment recovers a rotation, scale and shift of the template exactly")
    func similarity() {
        let angle = 30.0 * .pi / 180, scale = 2.5, shift = (40.0, -12.0)
        // Points such that the template = scale · R(angle) · p + shift.
        let points = SFaceRecognizer.template.map { t -> Point in
            let (u, v) = ((t.0 - shift.0) / scale, (t.1 - shift.1) / scale)
            return Point(x: Float(cos(angle) * u + sin(angle) * v), y: Float(-sin(angle) * u + cos(angle) * v))
        }
        let m = similarityTransform(from: points, to: SFaceRecognizer.template)
        for (p, t) in zip(points, SFaceRecognizer.template) {
            let x = m[0] * Double(p.x) + m[1] * Double(p.y) + m[2], y = m[3] * Double(p.x) + m[4] * Double(p.y) + m[5]
            #expect(abs(x - t.0) < 1e-3 && abs(y - t.1) < 1e-3)
        }
    }

    @Test("box overlap, suppression of a weaker overlapping box, and a box found again in its crop")
    func boxesAndCrops() {
        let a = FaceBox(x: 0, y: 0, width: 10, height: 10)
        #expect(a.overlap(with: a) == 1)
        #expect(a.overlap(with: FaceBox(x: 20, y: 20, width: 5, height: 5)) == 0)
        #expect(abs(a.overlap(with: FaceBox(x: 5, y: 0, width: 10, height: 10)) - 50.0 / 150) < 1e-9)
        let strong = DetectedFace(box: a, score: 0.9, landmarks: []),
            weak = DetectedFace(
                box: FaceBox(x: 1, y: 1, width: 10, height: 10), score: 0.7, landmarks: [])
        let far = DetectedFace(box: FaceBox(x: 50, y: 50, width: 10, height: 10), score: 0.6, landmarks: [])
        #expect(YuNetDetector.suppressed([weak, far, strong], threshold: 0.3).map(\.score) == [0.9, 0.6])

        let photo = RGBImage(width: 1000, height: 800, red: 10, green: 20, blue: 30)
        let box = FaceBox(x: 400, y: 300, width: 100, height: 120)
        let crop = photo.faceCrop(around: box)
        #expect(crop.width == 220 && crop.height == 240)
        #expect(box.inCrop(crop) == FaceBox(x: 60, y: 60, width: 100, height: 120))
        // A large face near the corner: clipped at the top left, downscaled to 320 px.
        let big = RGBImage(width: 2000, height: 2000, red: 0, green: 0, blue: 0)
        let bigBox = FaceBox(x: 100, y: 100, width: 600, height: 600)
        let bigCrop = big.faceCrop(around: bigBox)
        #expect(max(bigCrop.width, bigCrop.height) == 320)
        #expect(bigBox.inCrop(bigCrop).overlap(with: FaceBox(x: 32, y: 32, width: 192, height: 192)) > 0.95)
        // A box reaching past the photo's edge never reads outside it.
        #expect(photo.faceCrop(around: FaceBox(x: 990, y: 790, width: 40, height: 40)).width >= 1)
    }

    @Test("a small face in the background does not make a portrait a group photo; one of similar size does")
    func groupPhotoRule() throws {
        func encoding(_ side: Int) -> FaceEncoding {
            let face = DetectedFace(box: FaceBox(x: 0, y: 0, width: side, height: side), score: 1, landmarks: [])
            let chip = RGBImage(width: 3, height: 3, red: 0, green: 0, blue: 0)
            var quality = FaceQuality(face: face, chip: chip, layout: .eyesNoseTipMouthCorners)
            quality.sharpness = 1000
            return FaceEncoding(face: face, embedding: [], chip: chip, quality: quality)
        }
        let gate = EnrolmentGate(model: .sface)
        #expect(try gate.check([encoding(200), encoding(90)]).quality.faceSize == 200)
        #expect(throws: EnrolmentRejection.multipleFaces(count: 2)) { try gate.check([encoding(200), encoding(100)]) }
    }
}
