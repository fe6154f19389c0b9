import Foundation
import ImageDecoding
import TestSupport
import Testing

/// Every file of the edge-case and CompreFace format/invalid sets decodes to the manifest's size (turned upright)
/// or fails with the error its kind calls for.
@Suite("Decoding the shared photos", .requiresFaces)
struct ManifestTests {
    struct Entry: Sendable, CustomTestStringConvertible {
        let path: String
        let format: String
        let width: Int?
        let height: Int?
        let exifOrientation: Int?
        let identity: String
        var testDescription: String { path }
    }

    static func entries() -> [Entry] {
        guard TestEnvironment.facesAvailable else { return [] }
        var entries: [Entry] = []
        for (folder, filter) in [("edge_cases", ""), ("compreface", "formats/"), ("compreface", "invalid/")] {
            let rows = (try? CSVTable(path: TestEnvironment.facesRoot + "/\(folder)/manifest.csv").rows) ?? []
            for row in rows where row["file", default: ""].hasPrefix(filter) {
                entries.append(
                    Entry(
                        path: folder + "/" + row["file", default: ""], format: row["format", default: ""],
                        width: Int(row["width", default: ""]), height: Int(row["height", default: ""]),
                        exifOrientation: Int(row["exif_orientation", default: ""]),
                        identity: row["identity", default: ""]))
            }
        }
        return entries
    }

    @Test(arguments: entries())
    func decodesOrRefuses(_ entry: Entry) throws {
        let bytes = try TestEnvironment.photo(entry.path)
        let decoder = ImageDecoder()
        switch entry.format {
        case let format where ["JPEG", "PNG", "WEBP"].contains(format) && entry.identity != "invalid":
            let image = try decoder.decode(bytes)
            let swaps = (entry.exifOrientation ?? 1) >= 5
            #expect(image.width == (swaps ? entry.height : entry.width))
            #expect(image.height == (swaps ? entry.width : entry.height))
        case "BMP", "GIF", "TIFF", "ICO":
            #expect(throws: ImageDecodingError.unsupportedFormat(entry.format)) { try decoder.decode(bytes) }
        default:
            // invalid files: empty, text, HTML, corrupt or truncated
            #expect(throws: ImageDecodingError.self) { try decoder.decode(bytes) }
            do { _ = try decoder.decode(bytes) } catch {
                switch error {
                case .empty, .unsupportedFormat, .corrupt, .truncated: break
                case .tooManyBytes, .tooManyPixels: Issue.record("\(entry.path): \(error)")
                }
            }
        }
    }

    @Test("the invalid files get the specific error for what they are")
    func specificErrors() throws {
        let decoder = ImageDecoder()
        #expect(throws: ImageDecodingError.empty) {
            try decoder.decode(TestEnvironment.photo("edge_cases/invalid/zero_bytes.jpg"))
        }
        #expect(throws: ImageDecodingError.unsupportedFormat(nil)) {
            try decoder.decode(TestEnvironment.photo("edge_cases/invalid/text_as.jpg"))
        }
        #expect(throws: ImageDecodingError.unsupportedFormat(nil)) {
            try decoder.decode(TestEnvironment.photo("edge_cases/invalid/html_as.png"))
        }
        #expect(throws: ImageDecodingError.truncated) {
            try decoder.decode(TestEnvironment.photo("compreface/invalid/truncated.jpg"))
        }
    }

    @Test("WebP data behind a .jpg name is decoded as WebP")
    func sniffsByContent() throws {
        let bytes = try TestEnvironment.photo("deepface/images/img47.jpg")
        #expect(try ImageDecoder().readHeader(bytes).format == .webp)
        let image = try ImageDecoder().decode(bytes)
        #expect(image.width > 0 && image.height > 0)
    }

    @Test("EXIF orientations 3, 6 and 8 come out upright, equal to the original photo", arguments: [3, 6, 8])
    func exifOrientation(_ value: Int) throws {
        let decoder = ImageDecoder()
        let original = try decoder.decode(TestEnvironment.photo("skimage/astronaut.png"))
        let oriented = try decoder.decode(
            TestEnvironment.photo("edge_cases/exif_orientation/astronaut_exif\(value).jpg"))
        #expect(
            try decoder.readHeader(TestEnvironment.photo("edge_cases/exif_orientation/astronaut_exif\(value).jpg"))
                .orientation.rawValue == value)
        #expect(oriented.width == original.width && oriented.height == original.height)
        #expect(meanAbsoluteDifference(oriented, original) < 8, "upright copy differs from the original")
        // Not applying the orientation would leave it clearly different.
        #expect(meanAbsoluteDifference(oriented.applying(.down), original) > 20)
    }

    @Test("pixel layouts decode to the same picture as the plain RGB photo")
    func layoutsMatchOriginal() throws {
        let decoder = ImageDecoder()
        let original = try decoder.decode(TestEnvironment.photo("skimage/astronaut.png"))
        for path in [
            "formats/astronaut_palette.png", "formats/astronaut_cmyk.jpg", "formats/astronaut_progressive.jpg",
            "formats/astronaut.webp",
        ] {
            let image = try decoder.decode(TestEnvironment.photo("edge_cases/" + path))
            #expect(meanAbsoluteDifference(image, original) < 12, "\(path) differs from the original")
        }
        // Greyscale variants: compare luminance.
        let greyOriginal = luminance(original)
        for path in [
            "greyscale/astronaut_L.jpg", "greyscale/astronaut_L.png", "greyscale/astronaut_LA.png",
            "formats/astronaut_16bit_grey.png",
        ] {
            let image = try decoder.decode(TestEnvironment.photo("edge_cases/" + path))
            let grey = luminance(image)
            let difference = zip(grey, greyOriginal).map { abs($0 - $1) }.reduce(0, +) / Double(grey.count)
            #expect(difference < 12, "\(path) differs from the original's luminance by \(difference)")
        }
    }

    @Test("transparent areas are composited on white")
    func alphaOnWhite() throws {
        let image = try ImageDecoder().decode(TestEnvironment.photo("edge_cases/alpha/astronaut_transparent_black.png"))
        let corner = image[0, 0]
        #expect(corner.r == 255 && corner.g == 255 && corner.b == 255)
    }
}

func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
    guard a.width == b.width, a.height == b.height else { return .infinity }
    var total = 0
    for i in a.pixels.indices { total += abs(Int(a.pixels[i]) - Int(b.pixels[i])) }
    return Double(total) / Double(a.pixels.count)
}

func luminance(_ image: RGBImage) -> [Double] {
    (0..<image.pixelCount).map { (i: Int) -> Double in
        let r = Double(image.pixels[3 * i]), g = Double(image.pixels[3 * i + 1]), b = Double(image.pixels[3 * i + 2])
        return 0.299 * r + 0.587 * g + 0.114 * b
    }
}
