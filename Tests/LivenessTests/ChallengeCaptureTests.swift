import ImageDecoding
import Testing

@testable import Liveness

/// How the kiosk chooses the frames it sends of a capture (`ChallengeCapture`, mirrored by kiosk.js's `chooseFrames`).
@Suite("Challenge capture")
struct ChallengeCaptureTests {
    @Test("a capture of 1.5 s at 15 frames a second takes 23 frames and sends 8 the service takes")
    func counts() {
        #expect(ChallengeCapture.framesTaken == 23)
        #expect((2...8).contains(ChallengeCapture.framesSent))
    }

    @Test("frames follow the motion: a quick turn in the middle of a still capture gets frames on its way")
    func followsTheMotion() {
        // Still (noise 0.5), then frames 10 to 13 move 10 each, then still again.
        let motion = (0..<23).map { $0 == 0 ? 0 : (10...13).contains($0) ? 10.0 : 0.5 }
        let chosen = ChallengeCapture.select(motion: motion, count: 8)
        #expect(chosen.count == 8 && chosen.first == 0 && chosen.last == 22 && chosen == chosen.sorted())
        // Every step of the turn between two frames sent: each frame from 9 (before it) to 13 (its end) is sent.
        #expect(Set(9...13).isSubset(of: chosen), "\(chosen)")
        // Evenly timed frames would have one at most there.
        let even = (0..<8).map { Int((22.0 * Double($0) / 7).rounded()) }
        #expect(even.filter { (10...13).contains($0) }.count <= 1)
    }

    @Test("one jump (a print swapped for another) is a stretch of its own: the rest fill the longest stretches")
    func oneJump() {
        let motion = (0..<23).map { $0 == 12 ? 60.0 : 0 }
        let chosen = ChallengeCapture.select(motion: motion, count: 8)
        // No stretch to cut but the jump's own: the middles of the longest stretches, nothing on the jump's way.
        #expect(chosen == [0, 2, 5, 8, 11, 16, 19, 22], "\(chosen)")
        // No motion at all: evenly spread; fewer frames than asked: all of them.
        #expect(ChallengeCapture.select(motion: [Double](repeating: 0, count: 23), count: 8).count == 8)
        #expect(ChallengeCapture.select(motion: [0, 1, 2], count: 8) == [0, 1, 2])
    }

    @Test("the grey copy is 32×24 cell means; motion is their mean absolute change")
    func motionSample() {
        let dark = RGBImage(width: 64, height: 48, pixels: [UInt8](repeating: 10, count: 64 * 48 * 3))
        let light = RGBImage(width: 64, height: 48, pixels: [UInt8](repeating: 30, count: 64 * 48 * 3))
        let a = ChallengeCapture.motionSample(of: dark), b = ChallengeCapture.motionSample(of: light)
        #expect(a.count == 32 * 24 && a.allSatisfy { $0 == 10 })
        #expect(ChallengeCapture.motion(a, b) == 20)
        #expect(ChallengeCapture.motion(a, a) == 0)
    }
}
