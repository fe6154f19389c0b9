import CImageCodecs

extension RGBImage {
    /// The image as a PNG file (libpng), e.g. a face chip to show in a browser.
    public func pngData() -> [UInt8] {
        var size = 0
        let measured = pixels.withUnsafeBufferPointer { source in
            fg_png_encode_rgb(source.baseAddress, Int32(width), Int32(height), stride, nil, &size)
        }
        precondition(measured == FG_CODEC_OK && size > 0, "libpng could not size a \(width)x\(height) PNG")
        var out = [UInt8](repeating: 0, count: size)
        let status = pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                fg_png_encode_rgb(source.baseAddress, Int32(width), Int32(height), stride, target.baseAddress, &size)
            }
        }
        precondition(status == FG_CODEC_OK, "libpng could not encode a \(width)x\(height) PNG")
        return Array(out.prefix(size))
    }
}
