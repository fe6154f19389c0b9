import FaceEngine
import ImageDecoding

/// One frame of a challenge as the check sees it: the largest face's five landmarks (YuNet's layout: the person's
/// right eye, left eye, nose tip, right and left mouth corner) and a small grey fingerprint of the face region that
/// tells a repeated frame.
public struct LivenessFrame: Sendable {
    public var landmarks: [Point]
    public var fingerprint: [UInt8]

    public init(landmarks: [Point], fingerprint: [UInt8]) {
        self.landmarks = landmarks
        self.fingerprint = fingerprint
    }

    /// The frame of `face` in `image` (the image the face's coordinates refer to).
    public init(face: DetectedFace, in image: RGBImage) {
        self.init(landmarks: face.landmarks, fingerprint: Self.fingerprint(of: image, box: face.box))
    }

    /// Side of the fingerprint's grid.
    static let side = 16

    /// Mean grey level of each cell of a 16×16 grid over `box`: a frame sent twice (even re-encoded) gives the same
    /// grid; two camera frames a fraction of a second apart do not, for a face that moves.
    static func fingerprint(of image: RGBImage, box: FaceBox) -> [UInt8] {
        let x0 = max(0, box.x), y0 = max(0, box.y)
        let x1 = min(image.width, box.x + box.width), y1 = min(image.height, box.y + box.height)
        guard x1 - x0 >= Self.side, y1 - y0 >= Self.side else { return [] }
        var sums = [Int](repeating: 0, count: Self.side * Self.side), counts = sums
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in y0..<y1 {
                let row = (y - y0) * Self.side / (y1 - y0)
                for x in x0..<x1 {
                    let i = 3 * (y * image.width + x)
                    let grey = (299 * Int(pixels[i]) + 587 * Int(pixels[i + 1]) + 114 * Int(pixels[i + 2])) / 1000
                    let cell = row * Self.side + (x - x0) * Self.side / (x1 - x0)
                    sums[cell] += grey
                    counts[cell] += 1
                }
            }
        }
        return zip(sums, counts).map { UInt8($0 / max($1, 1)) }
    }
}
