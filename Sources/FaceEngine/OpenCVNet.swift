import COpenCVShim
import Foundation
import ImageDecoding

/// An ONNX network loaded into OpenCV's dnn module (through the C shim). NOT thread-safe: one per engine thread.
final class OpenCVNet {
    private let net: OpaquePointer

    init(path: String) throws(FaceEngineError) {
        var net: OpaquePointer?
        try callShim(load: path) { fg_cv_net_load($0, &net, $1, $2) }
        self.net = net!
    }

    deinit { fg_cv_net_destroy(net) }

    /// Runs the net on one NCHW blob and returns the named outputs, each flattened.
    func forward(
        _ input: [Float], shape: (n: Int, c: Int, h: Int, w: Int), outputs names: [String], capacities: [Int]
    ) throws(FaceEngineError) -> [[Float]] {
        precondition(input.count == shape.n * shape.c * shape.h * shape.w && names.count == capacities.count)
        let buffers = capacities.map { UnsafeMutablePointer<Float>.allocate(capacity: max(1, $0)) }
        let cNames = names.map { strdup($0) }
        defer {
            buffers.forEach { $0.deallocate() }
            cNames.forEach { free($0) }
        }
        let outputs: [UnsafeMutablePointer<Float>?] = buffers
        let namePointers: [UnsafePointer<CChar>?] = cNames.map { UnsafePointer($0) }
        let limits = capacities.map { size_t($0) }
        var sizes = [size_t](repeating: 0, count: names.count)
        try callShim { error, errorSize in
            fg_cv_net_forward(
                net, input, Int32(shape.n), Int32(shape.c), Int32(shape.h), Int32(shape.w), namePointers,
                Int32(names.count), outputs, limits, &sizes, error, errorSize)
        }
        return names.indices.map { Array(UnsafeBufferPointer(start: buffers[$0], count: Int(sizes[$0]))) }
    }
}

extension RGBImage {
    /// The image as a 1×3×H×W float blob of 0…255 values, channels in the order `bgr` says, padded with black to
    /// `paddedWidth` × `paddedHeight` at the right and bottom.
    func planarBlob(bgr: Bool, paddedWidth: Int? = nil, paddedHeight: Int? = nil) -> [Float] {
        let w = paddedWidth ?? width, h = paddedHeight ?? height
        precondition(w >= width && h >= height)
        var blob = [Float](repeating: 0, count: 3 * w * h)
        let plane = w * h
        let order = bgr ? [2, 1, 0] : [0, 1, 2]
        blob.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { source in
                for y in 0..<height {
                    for x in 0..<width {
                        let s = (y * width + x) * 3, d = y * w + x
                        out[d] = Float(source[s + order[0]])
                        out[plane + d] = Float(source[s + order[1]])
                        out[2 * plane + d] = Float(source[s + order[2]])
                    }
                }
            }
        }
        return blob
    }

    /// This image warped by the 2×3 affine `matrix` (source → destination) into a `width` × `height` image,
    /// bilinear, black outside.
    func warped(by matrix: [Double], width outWidth: Int, height outHeight: Int) throws(FaceEngineError) -> RGBImage {
        precondition(matrix.count == 6)
        var output = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        try pixels.withUnsafeBufferPointer { source throws(FaceEngineError) in
            try callShim { error, size in
                fg_cv_warp_affine(
                    source.baseAddress, width, height, stride, matrix, &output, Int32(outWidth),
                    Int32(outHeight), error, size)
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: output)
    }
}
