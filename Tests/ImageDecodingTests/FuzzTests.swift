import ImageDecoding
import TestSupport
import Testing

/// Mutated real JPEG, PNG and WebP files (fixed seed, bounded count): every outcome is an image or a typed error;
/// a crash, hang or trap fails the run.
@Suite("Fuzzing the decoders", .requiresFaces)
struct FuzzTests {
    @Test(arguments: [
        "edge_cases/formats/astronaut_progressive.jpg", "edge_cases/formats/astronaut_cmyk.jpg",
        "face_recognition/obama/obama-240p.jpg", "edge_cases/formats/astronaut_palette.png",
        "edge_cases/greyscale/astronaut_LA.png", "edge_cases/formats/astronaut.webp",
        "compreface/formats/einstein.webp",
    ])
    func mutations(_ path: String) throws {
        let original = try TestEnvironment.photo(path)
        var random = SplitMix64(seed: 0xFACE_6A7E)
        let decoder = ImageDecoder(limits: .init(maxBytes: 10 << 20, maxPixels: 4_000_000))
        var decoded = 0, refused = 0
        for round in 0..<120 {
            var bytes = original
            switch round % 4 {
            case 0:  // flip random bytes anywhere
                for _ in 0..<(1 + Int(random.next() % 8)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                }
            case 1:  // damage the header region, where sizes and tables live
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    bytes[Int(random.next() % UInt64(min(bytes.count, 600)))] = UInt8(truncatingIfNeeded: random.next())
                }
            case 2:  // truncate
                bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
            default:  // splice a chunk of itself elsewhere
                let start = Int(random.next() % UInt64(bytes.count)), length = Int(random.next() % 512)
                let chunk = Array(original[start..<min(original.count, start + length)])
                let at = Int(random.next() % UInt64(bytes.count))
                bytes.insert(contentsOf: chunk, at: at)
            }
            do {
                let image = try decoder.decode(bytes)
                #expect(image.pixels.count == image.width * image.height * 3 && image.pixelCount <= 4_000_000)
                decoded += 1
            } catch {
                // The same bytes are refused the same way again: no state of one decode leaks into the next.
                #expect(throws: error) { try decoder.decode(bytes) }
                refused += 1
            }
        }
        // A campaign whose mutations all decode, or none does, exercised one side only.
        #expect(decoded > 0 && refused > 0, "\(decoded) decoded, \(refused) refused")
    }
}
