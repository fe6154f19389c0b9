import ImageDecoding

/// How a kiosk captures a challenge: it takes `framesTaken` frames evenly over `window` seconds (about 15 a second),
/// keeps a small grey copy of each (`motionSample`; a frame whose copy is the same as the one before is not a new
/// camera frame and is not kept), and sends `framesSent` of them chosen where the picture changed (`select`).
/// A head turns in 0.2–0.4 s when it turns quickly; frames evenly spread over 1.5 s would catch it in one step, which
/// is what a frontal print swapped for a turned one looks like. Chosen by motion, the frames follow the turn.
///
/// The kiosk page (`kiosk.js`, `captureFrames`, `chooseFrames`) does the same, its grey copy the browser canvas's own
/// downscale (the choice from the same motion is the same); `facegate eval liveness` captures the clips and the
/// rendered attacks this way too. The service takes any 2–8 frames in capture order.
public enum ChallengeCapture {
    /// Seconds from the first frame taken to the last.
    public static let window = 1.5
    /// Frames taken over `window` (about 15 a second) and sent of them.
    public static let framesTaken = 23, framesSent = 8
    /// Seconds between two frames taken.
    public static var interval: Double { window / Double(framesTaken - 1) }
    /// The grey copy's size.
    public static let sampleWidth = 32, sampleHeight = 24

    /// A 32×24 grey copy of `image`: the mean grey level of each cell.
    public static func motionSample(of image: RGBImage) -> [UInt8] {
        var sums = [Int](repeating: 0, count: sampleWidth * sampleHeight), counts = sums
        guard image.width >= sampleWidth, image.height >= sampleHeight else { return [] }
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<image.height {
                let row = y * sampleHeight / image.height * sampleWidth
                for x in 0..<image.width {
                    let i = 3 * (y * image.width + x)
                    let grey = (299 * Int(pixels[i]) + 587 * Int(pixels[i + 1]) + 114 * Int(pixels[i + 2])) / 1000
                    let cell = row + x * sampleWidth / image.width
                    sums[cell] += grey
                    counts[cell] += 1
                }
            }
        }
        return zip(sums, counts).map { UInt8($0 / max($1, 1)) }
    }

    /// The mean grey-level change between two grey copies.
    public static func motion(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        return Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }

    /// The indices (ascending) of the `count` frames to send of those taken, from their grey copies (`motionSample`):
    /// a copy the same as the last one kept is no new camera frame and is not kept; of the rest, `select`.
    public static func choose(samples: [[UInt8]], count: Int) -> [Int] {
        var kept: [Int] = []
        for i in samples.indices where kept.last.map({ samples[$0] != samples[i] }) ?? true { kept.append(i) }
        let steps = kept.indices.map { $0 == 0 ? 0 : motion(samples[kept[$0 - 1]], samples[kept[$0]]) }
        return select(motion: steps, count: count).map { kept[$0] }
    }

    /// The indices (ascending) of the `count` frames to send of those taken, given each frame's `motion` from the one
    /// before (the first's is ignored): the first and the last, and between them the frames that cut the capture into
    /// stretches whose largest motion is as small as it can be (`cuts`), so that the moving part of the capture gets
    /// the frames and no step between two sent frames carries more motion than it must; then, while fewer than `count`
    /// are chosen (one jump is a stretch of its own, a still capture has none), the middle of the longest stretch
    /// between two chosen frames.
    public static func select(motion: [Double], count: Int) -> [Int] {
        let n = motion.count
        guard n > count, count >= 2 else { return Array(0..<n) }
        let steps = motion.dropFirst().map { max(0, $0) }
        // The least largest stretch that `count - 1` stretches allow, by bisection.
        var low = steps.max() ?? 0, high = steps.reduce(0, +)
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if cuts(steps, within: middle).count <= count - 2 { high = middle } else { low = middle }
        }
        var chosen = Set([0, n - 1] + cuts(steps, within: high))
        while chosen.count < count {
            let sorted = chosen.sorted()
            guard let gap = zip(sorted, sorted.dropFirst()).max(by: { $0.1 - $0.0 < $1.1 - $1.0 }),
                gap.1 - gap.0 >= 2
            else { break }
            chosen.insert((gap.0 + gap.1) / 2)
        }
        return chosen.sorted()
    }

    /// The frames where stretches of `steps` (the motion from each frame to the next) whose motion stays within
    /// `limit` meet, taken greedily from the first frame.
    static func cuts(_ steps: [Double], within limit: Double) -> [Int] {
        var cuts: [Int] = [], stretch = 0.0
        for (frame, step) in steps.enumerated() {
            if stretch > 0, stretch + step > limit {
                cuts.append(frame)
                stretch = step
            } else {
                stretch += step
            }
        }
        return cuts
    }
}
