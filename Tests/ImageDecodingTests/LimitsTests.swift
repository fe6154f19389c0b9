import Foundation
import ImageDecoding
import TestSupport
import Testing

@Suite("Limits and hostile input") struct LimitsTests {
    /// A PNG signature and IHDR for a width × height RGB image (valid CRC), with no pixel data at all.
    static func pngHeader(width: UInt32, height: UInt32) -> [UInt8] {
        var ihdr: [UInt8] = Array("IHDR".utf8)
        for value in [width, height] { ihdr += withUnsafeBytes(of: value.bigEndian, Array.init) }
        ihdr += [8, 2, 0, 0, 0]
        let crc = CRC32.checksum(ihdr)
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + ihdr
            + withUnsafeBytes(of: crc.bigEndian, Array.init)
    }

    @Test("a 60000 x 60000 PNG header is refused from the header, without allocating the pixels")
    func pixelBomb() {
        let bomb = Self.pngHeader(width: 60000, height: 60000)
        let started = Self.threadCPUSeconds()
        #expect(throws: ImageDecodingError.tooManyPixels(width: 60000, height: 60000, limit: 40_000_000)) {
            try ImageDecoder().decode(bomb)
        }
        // Generous bound: proves no 10 GB allocation or decode happened (that would take seconds or crash). This
        // thread's CPU time, not the clock's: a loaded machine may take the thread off its core for longer.
        #expect(Self.threadCPUSeconds() - started < 0.2)
    }

    /// The CPU time the calling thread has used, seconds (a synchronous test stays on its thread).
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    @Test("bytes over MAX_IMAGE_BYTES are refused before decoding")
    func byteLimit() {
        let decoder = ImageDecoder(limits: .init(maxBytes: 1000, maxPixels: 1_000_000))
        #expect(throws: ImageDecodingError.tooManyBytes(limit: 1000)) {
            try decoder.decode(Self.pngHeader(width: 10, height: 10) + [UInt8](repeating: 0, count: 1000))
        }
    }

    static let unsupportedSamples: [(bytes: [UInt8], name: String)] = [
        (Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0], "GIF"),
        (Array("BM".utf8) + [UInt8](repeating: 0, count: 30), "BMP"),
        ([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], "TIFF"),
        ([0, 0, 0, 0x18] + Array("ftypheic".utf8) + [0, 0, 0, 0], "HEIC"),
    ]

    @Test("named unsupported formats", arguments: unsupportedSamples)
    func unsupported(_ bytes: [UInt8], _ name: String) {
        #expect(throws: ImageDecodingError.unsupportedFormat(name)) { try ImageDecoder().decode(bytes) }
    }

    @Test("a PNG header with no image data is corrupt or truncated, not a crash")
    func headerOnly() {
        do {
            _ = try ImageDecoder().decode(Self.pngHeader(width: 100, height: 100))
            Issue.record("decoded an image with no data")
        } catch {
            if case .corrupt = error {} else { #expect(error == .truncated, "\(error)") }
        }
    }

    @Test("a JPEG cut in half is refused as truncated", .requiresFaces)
    func truncatedJPEG() throws {
        let bytes = try TestEnvironment.photo("face_recognition/obama/obama.jpg")
        #expect(throws: ImageDecodingError.truncated) {
            try ImageDecoder().decode(Array(bytes.prefix(bytes.count / 2)))
        }
    }
}

/// CRC-32 (PNG's) for building test files.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
