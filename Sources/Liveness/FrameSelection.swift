import FaceEngine
import ImageDecoding

/// Which frames of a capture to send: the kiosk films the turn at its camera's rate for about 1.5 s and keeps `count`
/// frames of the way out: from the first frame to the one that differs most from it (the furthest the head went),
/// spread evenly over the picture's change in between, so that a quick turn is still seen half-way rather than
/// jumping between two evenly timed frames, and the way back is not sent. The kiosk page does the same in
/// JavaScript (`kiosk.js`, `chooseFrames`); `facegate eval liveness` samples the clips so.
public enum FrameSelection {
    /// Indices (rising) of `count` frames among `thumbnails` (32×24 grey, `thumbnail`): the way out, spread over its
    /// motion.
    public static func wayOut(_ thumbnails: [[UInt8]], count: Int) -> [Int] {
        guard thumbnails.count > count, let first = thumbnails.first else { return Array(thumbnails.indices.prefix(count)) }
        let away = thumbnails.map { motion(first, $0) }
        let furthest = max(count - 1, away.indices.max { away[$0] < away[$1] } ?? 0)
        let steps = (0..<furthest).map { motion(thumbnails[$0], thumbnails[$0 + 1]) }
        return spread(motion: steps, count: count)
    }

    /// Indices (rising) of `count` frames among `motion.count + 1`, where `motion[i]` is how much the picture changed
    /// from frame i to frame i + 1 (e.g. the mean grey-level difference of small thumbnails).
    public static func spread(motion: [Double], count: Int) -> [Int] {
        let frames = motion.count + 1
        guard count >= 2, frames > count else { return Array(0..<min(frames, max(count, 0))) }
        var cumulative = [0.0]
        for change in motion { cumulative.append(cumulative.last! + max(0, change)) }
        let total = cumulative.last!
        var chosen = [0]
        for k in 1..<(count - 1) {
            let target = total * Double(k) / Double(count - 1)
            var index = cumulative.firstIndex { $0 >= target } ?? frames - 1
            // Rising, and room left for the frames still to choose.
            index = min(max(index, chosen.last! + 1), frames - (count - k))
            chosen.append(index)
        }
        chosen.append(frames - 1)
        return chosen
    }

    /// A 32×24 grey thumbnail of the whole picture (box averages), as the kiosk samples its camera.
    public static func thumbnail(_ image: RGBImage) -> [UInt8] {
        LivenessFrame.fingerprint(of: image, box: FaceBox(x: 0, y: 0, width: image.width, height: image.height),
                                  columns: 32, rows: 24)
    }

    /// The mean absolute grey-level difference of two 32×24 thumbnails (`thumbnail`).
    public static func motion(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        return Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }
}
