/// The EXIF orientation tag (1–8): how the stored pixels must be turned to appear upright.
public enum EXIFOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left

    /// Whether applying it swaps width and height.
    var swapsAxes: Bool { rawValue >= 5 }

    /// The orientation stored in a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk); `.up` when absent or unreadable.
    static func read(from bytes: UnsafeRawBufferPointer, format: ImageFormat) -> EXIFOrientation {
        let tiff: Range<Int>?
        switch format {
        case .jpeg: tiff = jpegEXIF(bytes)
        case .png: tiff = pngEXIF(bytes)
        case .webp: tiff = webpEXIF(bytes)
        default: tiff = nil
        }
        guard let tiff, let value = orientationTag(in: bytes, tiff: tiff) else { return .up }
        return EXIFOrientation(rawValue: value) ?? .up
    }

    /// Walks JPEG segments up to the first scan, looking for an `Exif\0\0` APP1 segment.
    private static func jpegEXIF(_ b: UnsafeRawBufferPointer) -> Range<Int>? {
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 {
                i += 2
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan / end of image: no EXIF before it
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2, i + 2 + length <= b.count else { return nil }
            let payload = (i + 4)..<(i + 2 + length)
            if marker == 0xE1, payload.count > 6,
                b[payload.lowerBound..<payload.lowerBound + 6].elementsEqual(
                    [0x45, 0x78, 0x69, 0x66, 0, 0])
            {
                return (payload.lowerBound + 6)..<payload.upperBound
            }
            i += 2 + length
        }
        return nil
    }

    /// Walks PNG chunks for `eXIf`.
    private static func pngEXIF(_ b: UnsafeRawBufferPointer) -> Range<Int>? {
        var i = 8
        while i + 8 <= b.count {
            let length = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            let type = b[(i + 4)..<(i + 8)]
            guard length >= 0, i + 8 + length <= b.count else { return nil }
            if type.elementsEqual("eXIf".utf8) { return (i + 8)..<(i + 8 + length) }
            if type.elementsEqual("IDAT".utf8) || type.elementsEqual("IEND".utf8) { return nil }
            i += 12 + length
        }
        return nil
    }

    /// Walks RIFF chunks of a WebP file for `EXIF` (some writers keep the `Exif\0\0` prefix).
    private static func webpEXIF(_ b: UnsafeRawBufferPointer) -> Range<Int>? {
        var i = 12
        while i + 8 <= b.count {
            let size = Int(b[i + 4]) | Int(b[i + 5]) << 8 | Int(b[i + 6]) << 16 | Int(b[i + 7]) << 24
            guard i + 8 + size <= b.count else { return nil }
            if b[i..<(i + 4)].elementsEqual("EXIF".utf8) {
                var start = i + 8
                if size > 6, b[start..<start + 6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) { start += 6 }
                return start..<(i + 8 + size)
            }
            i += 8 + size + (size & 1)
        }
        return nil
    }

    /// Reads tag 0x0112 from IFD0 of a TIFF structure, checking every offset against the range.
    private static func orientationTag(in b: UnsafeRawBufferPointer, tiff: Range<Int>) -> Int? {
        guard tiff.count >= 8 else { return nil }
        let base = tiff.lowerBound
        let little: Bool
        switch (b[base], b[base + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, base + at + 2 <= tiff.upperBound else { return nil }
            let a = Int(b[base + at]), c = Int(b[base + at + 1])
            return little ? a | c << 8 : a << 8 | c
        }
        func u32(_ at: Int) -> Int? {
            guard let low = u16(little ? at : at + 2), let high = u16(little ? at + 2 : at) else { return nil }
            return low | high << 16
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd), count <= 1000 else { return nil }
        for entry in 0..<count {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at) else { return nil }
            if tag == 0x0112 {
                guard u16(at + 2) == 3 else { return nil }  // SHORT
                return u16(at + 8)
            }
        }
        return nil
    }
}

extension RGBImage {
    /// The image flipped left to right.
    public func mirrored() -> RGBImage { applying(.upMirrored) }

    /// The image turned upright according to `orientation`.
    public func applying(_ orientation: EXIFOrientation) -> RGBImage {
        if orientation == .up { return self }
        let w = width, h = height
        let outW = orientation.swapsAxes ? h : w, outH = orientation.swapsAxes ? w : h
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        let sx: Int, sy: Int
                        switch orientation {
                        case .up: (sx, sy) = (ox, oy)
                        case .upMirrored: (sx, sy) = (w - 1 - ox, oy)
                        case .down: (sx, sy) = (w - 1 - ox, h - 1 - oy)
                        case .downMirrored: (sx, sy) = (ox, h - 1 - oy)
                        case .leftMirrored: (sx, sy) = (oy, ox)
                        case .right: (sx, sy) = (oy, h - 1 - ox)
                        case .rightMirrored: (sx, sy) = (w - 1 - oy, h - 1 - ox)
                        case .left: (sx, sy) = (w - 1 - oy, ox)
                        }
                        let s = (sy * w + sx) * 3, d = (oy * outW + ox) * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}
