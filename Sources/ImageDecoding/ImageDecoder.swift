import CImageCodecs

/// Decodes JPEG, PNG and WebP bytes into upright `RGBImage`s, refusing anything over its limits before the large
/// allocation happens. Stateless and thread-safe.
public struct ImageDecoder: Sendable {
    public struct Limits: Sendable, Equatable {
        /// `MAX_IMAGE_BYTES`: the largest encoded image accepted.
        public var maxBytes: Int
        /// `MAX_IMAGE_PIXELS`: the largest width × height accepted, checked from the header.
        public var maxPixels: Int

        public static let `default` = Limits(maxBytes: 10 << 20, maxPixels: 40_000_000)

        public init(maxBytes: Int, maxPixels: Int) {
            self.maxBytes = maxBytes
            self.maxPixels = maxPixels
        }
    }

    /// What the header says, without decoding pixels.
    public struct Header: Sendable, Equatable {
        public var format: ImageFormat
        /// As stored, before orientation.
        public var width: Int
        public var height: Int
        public var orientation: EXIFOrientation
        public var isProgressive: Bool
        public var isAnimated: Bool
    }

    public var limits: Limits

    public init(limits: Limits = .default) {
        self.limits = limits
    }

    /// The full-resolution, upright image.
    public func decode(_ data: [UInt8]) throws(ImageDecodingError) -> RGBImage {
        try withBytes(data) { bytes throws(ImageDecodingError) in try decode(bytes, maxSide: nil) }
    }

    /// An upright image whose longer side is at most `maxSide`: JPEGs are DCT-scaled while decoding (1/2, 1/4,
    /// 1/8) as far as that stays at or above `maxSide`, then everything is area-averaged down to it.
    public func decode(_ data: [UInt8], fittingIn maxSide: Int) throws(ImageDecodingError) -> RGBImage {
        try withBytes(data) { bytes throws(ImageDecodingError) in try decode(bytes, maxSide: maxSide) }
    }

    /// Format, size and orientation from the first bytes, checked against the limits; nothing is decoded.
    public func readHeader(_ data: [UInt8]) throws(ImageDecodingError) -> Header {
        try withBytes(data) { bytes throws(ImageDecodingError) in try readHeader(bytes) }
    }

    public func decode(_ bytes: UnsafeRawBufferPointer, maxSide: Int?) throws(ImageDecodingError) -> RGBImage {
        let header = try readHeader(bytes)
        let denominator = maxSide.map { jpegScaleDenominator(header, maxSide: $0) } ?? 1
        // libjpeg's DCT-scaled output size is ceil(size / denominator) (CImageCodecs.h); the shim checks it again.
        let width = (header.width + denominator - 1) / denominator
        let height = (header.height + denominator - 1) / denominator
        var info = fg_image_info()
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let status = pixels.withUnsafeMutableBufferPointer { out in
            let base = bytes.bindMemory(to: UInt8.self).baseAddress!
            switch header.format {
            case .jpeg:
                return fg_jpeg_decode_rgb(base, bytes.count, Int32(denominator), out.baseAddress, width * 3, &info)
            case .png: return fg_png_decode_rgb(base, bytes.count, out.baseAddress, width * 3, &info)
            default: return fg_webp_decode_rgb(base, bytes.count, out.baseAddress, width * 3, &info)
            }
        }
        try check(status, &info)
        var image = RGBImage(width: width, height: height, pixels: pixels).applying(header.orientation)
        if let maxSide { image = image.downscaled(toFit: maxSide) }
        return image
    }

    /// Sniffs, checks the byte limit, reads the header and checks the pixel limit.
    public func readHeader(_ bytes: UnsafeRawBufferPointer) throws(ImageDecodingError) -> Header {
        if bytes.isEmpty { throw .empty }
        if bytes.count > limits.maxBytes { throw .tooManyBytes(limit: limits.maxBytes) }
        guard let format = ImageFormat.sniff(bytes) else { throw .unsupportedFormat(nil) }
        guard format.isDecodable else { throw .unsupportedFormat(format.rawValue) }
        // PNG's size sits at a fixed place in IHDR; checking it first refuses a pixel bomb even when the
        // file carries no image data for libpng to read past the header.
        if format == .png, let (width, height) = Self.pngDeclaredSize(bytes) {
            try checkPixelLimit(width: width, height: height)
        }
        var info = fg_image_info()
        let base = bytes.bindMemory(to: UInt8.self).baseAddress!
        let status: fg_codec_status
        switch format {
        case .jpeg: status = fg_jpeg_read_info(base, bytes.count, 1, &info)
        case .png: status = fg_png_read_info(base, bytes.count, &info)
        default: status = fg_webp_read_info(base, bytes.count, &info)
        }
        try check(status, &info)
        let width = Int(info.source_width), height = Int(info.source_height)
        guard width > 0, height > 0 else { throw .corrupt("the header gives no size") }
        try checkPixelLimit(width: width, height: height)
        return Header(
            format: format, width: width, height: height,
            orientation: EXIFOrientation.read(from: bytes, format: format),
            isProgressive: info.is_progressive != 0, isAnimated: info.is_animated != 0)
    }

    private func checkPixelLimit(width: Int, height: Int) throws(ImageDecodingError) {
        if width > 1 << 20 || height > 1 << 20 || width * height > limits.maxPixels {
            throw .tooManyPixels(width: width, height: height, limit: limits.maxPixels)
        }
    }

    /// Width and height from a PNG's IHDR chunk, which the format requires to come first.
    private static func pngDeclaredSize(_ bytes: UnsafeRawBufferPointer) -> (Int, Int)? {
        guard bytes.count >= 24, bytes[12] == 0x49, bytes[13] == 0x48, bytes[14] == 0x44, bytes[15] == 0x52
        else { return nil }
        func uint32(at offset: Int) -> Int { (16...19).reduce(0) { $0 << 8 | Int(bytes[offset + $1 - 16]) } }
        let width = uint32(at: 16), height = uint32(at: 20)
        return width > 0 && height > 0 ? (width, height) : nil
    }

    private func check(_ status: fg_codec_status, _ info: inout fg_image_info) throws(ImageDecodingError) {
        switch status {
        case FG_CODEC_OK: return
        case FG_CODEC_TRUNCATED: throw .truncated
        case FG_CODEC_UNSUPPORTED: throw .corrupt("uses an unsupported feature: \(message(&info))")
        case FG_CODEC_NO_MEMORY: throw .corrupt("out of memory while decoding")
        default: throw .corrupt(message(&info))
        }
    }

    private func message(_ info: inout fg_image_info) -> String {
        withUnsafeBytes(of: &info.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "undecodable" : String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The largest JPEG DCT scale that keeps the longer side at or above `maxSide`.
    private func jpegScaleDenominator(_ header: Header, maxSide: Int) -> Int {
        guard header.format == .jpeg else { return 1 }
        let longer = max(header.width, header.height)
        for denominator in [8, 4, 2] where (longer + denominator - 1) / denominator >= maxSide { return denominator }
        return 1
    }
}

/// `Array.withUnsafeBytes` with typed throws.
private func withBytes<T>(
    _ data: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImageDecodingError) -> T
) throws(ImageDecodingError) -> T {
    let result: Result<T, ImageDecodingError> = data.withUnsafeBytes { bytes in
        do throws(ImageDecodingError) { return .success(try body(bytes)) } catch { return .failure(error) }
    }
    return try result.get()
}
