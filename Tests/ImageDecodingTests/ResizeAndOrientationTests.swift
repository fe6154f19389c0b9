import ImageDecoding
import TestSupport
import Testing

@Suite("Resizing and orientation") struct ResizeAndOrientationTests {
    /// A 4 × 2 image whose pixels are numbered left to right, top to bottom.
    let numbered = RGBImage(width: 4, height: 2, pixels: (0..<8).flatMap { [UInt8($0), 0, 0] })

    @Test(
        "each EXIF orientation puts the right pixel in the top-left corner",
        arguments: [
            (EXIFOrientation.up, 0, 4), (.upMirrored, 3, 4), (.down, 7, 4), (.downMirrored, 4, 4),
            (.leftMirrored, 0, 2), (.right, 4, 2), (.rightMirrored, 7, 2), (.left, 3, 2),
        ])
    func orientation(_ orientation: EXIFOrientation, _ topLeft: Int, _ width: Int) {
        let turned = numbered.applying(orientation)
        #expect(Int(turned[0, 0].r) == topLeft)
        #expect(turned.width == width)
    }

    @Test("area downscaling keeps flat colours exactly and averages blocks")
    func areaAveraging() {
        let flat = RGBImage(width: 1000, height: 700, red: 200, green: 100, blue: 7)
        let small = flat.downscaled(toFit: 333)
        #expect(small.width == 333 && small.height == 233)
        #expect(small.pixels.allSatisfy { [200, 100, 7].contains($0) })

        // 2 × 2 checker of 0 and 255 averages to mid grey.
        var pixels: [UInt8] = []
        for y in 0..<64 {
            for x in 0..<64 {
                let v: UInt8 = (x + y) % 2 == 0 ? 0 : 255
                pixels += [v, v, v]
            }
        }
        let averaged = RGBImage(width: 64, height: 64, pixels: pixels).downscaled(toFit: 32)
        #expect(averaged.pixels.allSatisfy { $0 == 127 || $0 == 128 })
    }

    @Test("an image that already fits is returned as is")
    func fits() {
        let image = RGBImage(width: 10, height: 5, red: 1, green: 2, blue: 3)
        #expect(image.downscaled(toFit: 10) == image)
    }
}

@Suite("PNG encoding") struct PNGEncodingTests {
    @Test("an encoded PNG decodes back to the same pixels")
    func roundTrip() throws {
        var random = SplitMix64(seed: 9)
        let pixels = (0..<(37 * 23 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let image = RGBImage(width: 37, height: 23, pixels: pixels)
        let png = image.pngData()
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try ImageDecoder().decode(png) == image)
    }
}
