import FaceEngine
import Foundation
import Testing

@testable import Liveness

/// The check's geometry on exact projections: a generic head (eyes, nose tip 2.7 cm in front of them, mouth
/// corners) turning about its neck in front of a pinhole camera, and the same five points printed on a sheet turned
/// the same way. The real frames and models are `FaceGateAPITests/LivenessTests`.
@Suite("Liveness geometry")
struct LivenessCheckTests {
    /// The five points in metres (x right, y down, z away from the camera), YuNet's order.
    static let head: [(Double, Double, Double)] = [
        (-0.032, -0.035, 0), (0.032, -0.035, 0), (0, 0, -0.027), (-0.025, 0.030, -0.002), (0.025, 0.030, -0.002),
    ]

    /// The points turned by `degrees` about a vertical axis `pivot` metres behind them (positive: the nose towards
    /// the image's right), 55 cm from a camera of focal length 600 px.
    static func frame(_ points: [(Double, Double, Double)], degrees: Double, pivot: Double, n: Int) -> LivenessFrame {
        let a = degrees * .pi / 180
        let projected = points.map { x, y, z -> Point in
            let zc = z - pivot
            let xr = x * cos(a) - zc * sin(a), zr = x * sin(a) + zc * cos(a) + pivot
            let depth = 0.55 + zr
            return Point(x: Float(320 + 600 * xr / depth), y: Float(240 + 600 * y / depth))
        }
        return LivenessFrame(landmarks: projected, fingerprint: [UInt8](repeating: UInt8(10 * n), count: 256))
    }

    static func frames(_ angles: [Double], flat: Bool = false) -> [LivenessFrame?] {
        let points = flat ? head.map { ($0.0, $0.1, 0.0) } : head
        return angles.enumerated().map { frame(points, degrees: $0.element, pivot: flat ? 0 : 0.09, n: $0.offset) }
    }

    let check = LivenessCheck()

    @Test("a head turning 30° progressively is admitted the asked way and refused the other way")
    func realTurn() {
        let turning = Self.frames([0, 6, 12, 18, 24, 30])
        #expect(check.judge(turning, asked: .left).refusal == nil)
        #expect(check.judge(turning, asked: .right).refusal == .wrongDirection)
        let measures = check.judge(turning, asked: .left).measures!
        #expect(measures.turn > 25 && measures.turn < 40, "\(measures.turn)")
        #expect(measures.parallax > 0.5 * measures.expectedParallax, "\(measures)")
        #expect(check.judge(Self.frames([0, -6, -12, -18, -24, -30]), asked: .right).refusal == nil)
    }

    @Test("a print turned the same way moves as a plane: no parallax, a flat face; a still head did not turn")
    func flatAndStill() {
        let sheet = check.judge(Self.frames([0, 6, 12, 18, 24, 30], flat: true), asked: .left)
        #expect(sheet.refusal == .flatFace, "\(String(describing: sheet.measures))")
        #expect(abs(sheet.measures!.parallax) < 0.01)
        #expect(check.judge(Self.frames([0, 1, 0, 1, 0, 1]), asked: .left).refusal == .noTurn)
    }

    @Test(
        "the turn is read from the least turned frame before the most turned one: a head that looked a little aside when the capture began, or came back before it ended, is admitted"
    )
    func turnFromAnEarlierFrame() {
        let aside = check.judge(Self.frames([-10, 0, 6, 12, 18, 24, 30, 20]), asked: .left)
        #expect(aside.refusal == nil, "\(String(describing: aside.measures))")
        #expect(aside.measures?.startFrame == 0 && aside.measures?.turnedFrame == 6)
        // First a little the other way (less than the minimum): not the wrong direction, the turn counts from there.
        let back = check.judge(Self.frames([0, -8, -12, -4, 4, 12, 20, 28]), asked: .left)
        #expect(back.refusal == nil, "\(String(describing: back.measures))")
        #expect(back.measures?.startFrame == 2)
        #expect(back.measures.map { $0.turn > $0.oppositeTurn } == true)
        // A whole turn the other way and back is the wrong way, though the way back is a turn the asked way.
        let wrongAndBack = check.judge(Self.frames([0, -25, -12, 0, 12]), asked: .left)
        #expect(wrongAndBack.refusal == .wrongDirection, "\(String(describing: wrongAndBack.measures))")
        // A small turn the asked way and back past the start is too little, not the wrong way.
        #expect(check.judge(Self.frames([0, 7, 14, 4, -6]), asked: .left).refusal == .noTurn)
        #expect(LivenessCheck.furthestProgression([3, 1, 4, 1, 5, 9, 2, 6]).map { [$0.from, $0.to] } == [1, 5])
        #expect(LivenessCheck.furthestProgression([5, 4, 3]) == nil)
    }

    @Test("a turn in one jump, a repeated frame, a face missing or jumping across the picture are refused")
    func continuity() {
        #expect(check.judge(Self.frames([0, 0, 0, 30, 30, 30]), asked: .left).refusal == .notContinuous)
        var repeated = Self.frames([0, 6, 12, 18, 24, 30])
        repeated[3] = repeated[2]
        #expect(check.judge(repeated, asked: .left).refusal == .notContinuous)
        var missing = Self.frames([0, 6, 12, 18, 24, 30])
        missing[4] = nil
        #expect(check.judge(missing, asked: .left).refusal == .faceMissing)
        var moved = Self.frames([0, 6, 12, 18, 24, 30])
        moved[5]!.landmarks = moved[5]!.landmarks.map { Point(x: $0.x + 300, y: $0.y) }
        #expect(check.judge(moved, asked: .left).refusal == .notContinuous)
    }

    @Test("the homography of four points maps them exactly and puts a fifth point of their plane where it is")
    func homography() throws {
        let from = [Point(x: 0, y: 0), Point(x: 1, y: 0), Point(x: 0, y: 1), Point(x: 1, y: 1)]
        let plane = Self.frames([25], flat: true)[0]!.landmarks
        let h = try #require(Homography(from: from, to: [plane[0], plane[1], plane[3], plane[4]]))
        for (p, q) in zip(from, [plane[0], plane[1], plane[3], plane[4]]) {
            let mapped = h.apply(p)
            #expect(abs(mapped.x - Double(q.x)) < 1e-3 && abs(mapped.y - Double(q.y)) < 1e-3)
        }
        #expect(Homography(from: from, to: [from[0], from[0], from[0], from[0]]) == nil)
    }
}
