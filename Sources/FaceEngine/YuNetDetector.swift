import Foundation
import ImageDecoding

/// YuNet (OpenCV Zoo, 2023mar) run as a raw network and decoded here: OpenCV 4.6's `FaceDetectorYN` expects the
/// 2022 model's outputs. The net sees the photo downscaled to `maxSide` and padded with black to a multiple of 32;
/// at each stride (8, 16, 32) every grid cell scores a face (√(class × objectness)) with a box and five landmarks
/// relative to the cell; overlapping boxes are merged by non-maximum suppression. NOT thread-safe.
final class YuNetDetector {
    static let strides = [8, 16, 32]
    let maxSide: Int
    /// Lowest score kept (a face at all).
    let minScore: Float
    /// Boxes overlapping a better one by more than this intersection over union are dropped.
    let nmsThreshold: Float = 0.3
    private let net: OpenCVNet
    private let outputNames = ["cls", "obj", "bbox", "kps"].flatMap { kind in strides.map { "\(kind)_\($0)" } }

    init(path: String, maxSide: Int, minScore: Float) throws(FaceEngineError) {
        net = try OpenCVNet(path: path)
        self.maxSide = maxSide
        self.minScore = minScore
    }

    /// Faces with their five landmarks (YuNet's order, `LandmarkLayout.eyesNoseTipMouthCorners`) in `image`
    /// coordinates, largest first.
    func faces(in image: RGBImage) throws(FaceEngineError) -> [DetectedFace] {
        let small = image.downscaled(toFit: maxSide)
        let width = (small.width + 31) / 32 * 32, height = (small.height + 31) / 32 * 32
        let cells = Self.strides.map { (width / $0) * (height / $0) }
        let perCell = [1, 1, 4, 10]
        let capacities = perCell.flatMap { values in cells.map { $0 * values } }
        let outputs = try net.forward(
            small.planarBlob(bgr: true, paddedWidth: width, paddedHeight: height), shape: (1, 3, height, width),
            outputs: outputNames, capacities: capacities)
        var candidates: [DetectedFace] = []
        let scaleX = Float(image.width) / Float(small.width), scaleY = Float(image.height) / Float(small.height)
        for (level, stride) in Self.strides.enumerated() {
            let columns = width / stride
            let cls = outputs[level], obj = outputs[3 + level], bbox = outputs[6 + level], kps = outputs[9 + level]
            for cell in 0..<cells[level] {
                let score = (min(max(cls[cell], 0), 1) * min(max(obj[cell], 0), 1)).squareRoot()
                guard score >= minScore else { continue }
                let column = Float(cell % columns), row = Float(cell / columns), s = Float(stride)
                let centreX = (column + bbox[4 * cell]) * s, centreY = (row + bbox[4 * cell + 1]) * s
                let boxWidth = exp(bbox[4 * cell + 2]) * s, boxHeight = exp(bbox[4 * cell + 3]) * s
                let left = (centreX - boxWidth / 2) * scaleX, top = (centreY - boxHeight / 2) * scaleY
                let right = (centreX + boxWidth / 2) * scaleX, bottom = (centreY + boxHeight / 2) * scaleY
                // Boxes are clipped to the photo; one that lies wholly in the black padding is no face.
                let x = max(0, Int(left.rounded())), y = max(0, Int(top.rounded()))
                let x2 = min(image.width, Int(right.rounded())), y2 = min(image.height, Int(bottom.rounded()))
                guard x < image.width, y < image.height, x2 > x, y2 > y else { continue }
                let box = FaceBox(x: x, y: y, width: x2 - x, height: y2 - y)
                let landmarks = (0..<5).map { n in
                    Point(
                        x: (kps[10 * cell + 2 * n] + column) * s * scaleX,
                        y: (kps[10 * cell + 2 * n + 1] + row) * s * scaleY)
                }
                candidates.append(DetectedFace(box: box, score: Double(score), landmarks: landmarks))
            }
        }
        return Self.suppressed(candidates, threshold: nmsThreshold).sorted { $0.box.area > $1.box.area }
    }

    /// Greedy non-maximum suppression: best score first, dropping boxes that overlap a kept one too much.
    static func suppressed(_ faces: [DetectedFace], threshold: Float) -> [DetectedFace] {
        var kept: [DetectedFace] = []
        for face in faces.sorted(by: { $0.score > $1.score })
        where kept.allSatisfy({ $0.box.overlap(with: face.box) <= Double(threshold) }) {
            kept.append(face)
        }
        return kept
    }
}
