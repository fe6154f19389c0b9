import FaceEngine
import Foundation
import ImageDecoding

/// Renders a photo printed on a sheet and held up to a kiosk camera, exactly: the sheet is a plane (or a vertical
/// cylinder, a bent print) in front of a pinhole camera, turned about its vertical axis; every camera pixel casts a
/// ray, meets the sheet and samples the photo bilinearly (a background where it misses). Shake, blur and light are
/// applied per frame. For `facegate eval liveness`'s attacks and the liveness tests: not used by the service.
public struct PrintRendering: Sendable {
    /// The camera: image size and focal length in pixels (a webcam's ~56° horizontal field at 640 px).
    public var width = 640, height = 480
    public var focal = 600.0

    public init() {}

    /// How the sheet is held in one frame.
    public struct Pose: Sendable {
        /// Distance of the sheet's centre from the camera, metres, and its offset across (shake), metres.
        public var distance: Double
        public var offsetX = 0.0, offsetY = 0.0
        /// Turn about the vertical axis, radians; positive takes the sheet's right side (the image's right) away.
        public var angle: Double
        /// Radius of the cylinder the sheet is wrapped on, metres, its middle towards the camera; nil: flat.
        public var bend: Double?
        /// Light: gain and offset of the grey levels; blur: box radius in pixels (0: sharp).
        public var gain = 1.0, offset = 0.0
        public var blur = 0

        public init(distance: Double, angle: Double) {
            self.distance = distance
            self.angle = angle
        }
    }

    /// The photo printed at `metresPerPixel` (life size: a face as large as a face) and seen in `pose` against
    /// `background` (the camera's size).
    public func render(_ photo: RGBImage, metresPerPixel: Double, pose: Pose, background: RGBImage) -> RGBImage {
        var out = background.pixels
        let halfW = Double(photo.width) / 2, halfH = Double(photo.height) / 2
        let cx = Double(width) / 2, cy = Double(height) / 2
        let c = cos(pose.angle), s = sin(pose.angle)
        for y in 0..<height {
            for x in 0..<width {
                let dx = (Double(x) + 0.5 - cx) / focal, dy = (Double(y) + 0.5 - cy) / focal
                // The ray t·(dx, dy, 1) in the sheet's frame: shifted by the sheet's centre, turned back by its angle.
                guard let (u, v) = sheetPoint(dx: dx, dy: dy, pose: pose, c: c, s: s) else { continue }
                let px = u / metresPerPixel + halfW - 0.5, py = v / metresPerPixel + halfH - 0.5
                guard px >= 0, py >= 0, px < Double(photo.width - 1), py < Double(photo.height - 1) else { continue }
                let x0 = Int(px), y0 = Int(py), fx = px - Double(x0), fy = py - Double(y0)
                for channel in 0..<3 {
                    func at(_ xx: Int, _ yy: Int) -> Double {
                        Double(photo.pixels[3 * (yy * photo.width + xx) + channel])
                    }
                    let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
                    let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
                    out[3 * (y * width + x) + channel] = UInt8(max(0, min(255, top * (1 - fy) + bottom * fy)))
                }
            }
        }
        var image = RGBImage(width: width, height: height, pixels: out)
        if pose.blur > 0 { image = Self.boxBlurred(image, radius: pose.blur) }
        if pose.gain != 1 || pose.offset != 0 {
            image.pixels = image.pixels.map { UInt8(max(0, min(255, Double($0) * pose.gain + pose.offset))) }
        }
        return image
    }

    /// Where the camera ray (dx, dy, 1) meets the sheet, in the sheet's own coordinates (metres along its surface
    /// from its centre, right and down); nil when it misses.
    private func sheetPoint(dx: Double, dy: Double, pose: Pose, c: Double, s: Double) -> (Double, Double)? {
        // The sheet's frame: origin at its centre (offsetX, offsetY, distance), x' along it, z' away from the camera.
        // A camera point P maps to x' = c·(X−ox) + s·(Z−d), z' = −s·(X−ox) + c·(Z−d).
        let ax = c * dx + s, bx = -c * pose.offsetX - s * pose.distance  // x'(t) = ax·t + bx
        let az = -s * dx + c, bz = s * pose.offsetX - c * pose.distance  // z'(t) = az·t + bz
        let t: Double
        if let radius = pose.bend {
            // Cylinder x'² + (z' − R)² = R² (its middle at z' = 0, towards the camera): the nearer root.
            let bzr = bz - radius
            let qa = ax * ax + az * az, qb = 2 * (ax * bx + az * bzr), qc = bx * bx + bzr * bzr - radius * radius
            let disc = qb * qb - 4 * qa * qc
            guard disc >= 0 else { return nil }
            t = (-qb - disc.squareRoot()) / (2 * qa)
            let xp = ax * t + bx, zp = az * t + bz
            let alpha = atan2(xp, radius - zp)
            guard abs(alpha) < .pi / 2 else { return nil }
            return (radius * alpha, t * dy - pose.offsetY)
        }
        guard abs(az) > 1e-9 else { return nil }
        t = -bz / az
        guard t > 0 else { return nil }
        return (ax * t + bx, t * dy - pose.offsetY)
    }

    /// The part of `image` a print of the face shows: 4 face heights wide and 5 high, centred on the face (black
    /// where it runs off the frame).
    public static func printed(_ image: RGBImage, around landmarks: [Point]) -> RGBImage {
        let height = LivenessCheck.faceHeight(landmarks)
        let cx = Double(landmarks.map(\.x).reduce(0, +)) / 5, cy = Double(landmarks.map(\.y).reduce(0, +)) / 5
        let w = max(2, Int(4 * height)), h = max(2, Int(5 * height))
        let x0 = Int(cx) - w / 2, y0 = Int(cy) - h / 2
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h where (0..<image.height).contains(y0 + y) {
            for x in 0..<w where (0..<image.width).contains(x0 + x) {
                for c in 0..<3 { pixels[3 * (y * w + x) + c] = image.pixels[3 * ((y0 + y) * image.width + x0 + x) + c] }
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// A box blur of `radius` pixels, rows then columns.
    static func boxBlurred(_ image: RGBImage, radius: Int) -> RGBImage {
        var pixels = image.pixels
        let w = image.width, h = image.height
        func pass(_ count: Int, _ length: Int, _ index: (Int, Int) -> Int) {
            var line = [Double](repeating: 0, count: length)
            for n in 0..<count {
                for channel in 0..<3 {
                    for i in 0..<length { line[i] = Double(pixels[3 * index(n, i) + channel]) }
                    for i in 0..<length {
                        let lo = max(0, i - radius), hi = min(length - 1, i + radius)
                        var sum = 0.0
                        for j in lo...hi { sum += line[j] }
                        pixels[3 * index(n, i) + channel] = UInt8(sum / Double(hi - lo + 1))
                    }
                }
            }
        }
        pass(h, w) { row, i in row * w + i }
        pass(w, h) { column, i in i * w + column }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// A room-like background: a smooth gradient of two random colours with coarse noise.
    public static func background(width: Int, height: Int, using random: inout some RandomNumberGenerator) -> RGBImage {
        let a = (0..<3).map { _ in Double.random(in: 40...220, using: &random) }
        let b = (0..<3).map { _ in Double.random(in: 40...220, using: &random) }
        let cells = (0..<(16 * 12)).map { _ in Double.random(in: -25...25, using: &random) }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let f = Double(x + y) / Double(width + height)
                let noise = cells[(y * 12 / height) * 16 + x * 16 / width]
                for channel in 0..<3 {
                    pixels[3 * (y * width + x) + channel] = UInt8(
                        max(0, min(255, a[channel] * (1 - f) + b[channel] * f + noise)))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
