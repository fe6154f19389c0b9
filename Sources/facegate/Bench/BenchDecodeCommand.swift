import ArgumentParser
import Foundation
import ImageDecoding

/// `facegate bench decode FILE…`: decode throughput of the image decoding module, in the same JSON shape as
/// benchmarks/pillow_decode.py so the two can be compared in one run.
struct BenchDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Median decode time and megapixels/s per file, full size and downscaled; last stdout line is JSON.")

    @Argument(help: "Image files (JPEG, PNG or WebP).") var files: [String]
    @Option(help: "Longer side of the downscaled decode (the detector's FACE_DETECT_MAX_SIDE).") var maxSide = 640
    @Option(help: "Run each measurement for at least this many seconds.") var seconds = 1.0

    func run() throws {
        let decoder = ImageDecoder(limits: .init(maxBytes: 1 << 30, maxPixels: 400_000_000))
        let stopwatch = Stopwatch(minRuns: 5, minSeconds: seconds)
        var results: [[String: Any]] = []
        for file in files {
            let bytes = try readFile(file)
            let header = try decoder.readHeader(bytes)
            let megapixels = Double(header.width * header.height) / 1e6
            let full = try stopwatch.median { _ = try decoder.decode(bytes) }
            var small = RGBImage(width: 1, height: 1, red: 0, green: 0, blue: 0)
            let downscaled = try stopwatch.median { small = try decoder.decode(bytes, fittingIn: maxSide) }
            print(
                String(
                    format: "%@ %dx%d: full %.2f ms (%.0f MP/s), to %d px %.2f ms",
                    (file as NSString).lastPathComponent,
                    header.width, header.height, full * 1000, megapixels / full, maxSide, downscaled * 1000))
            results.append([
                "file": (file as NSString).lastPathComponent, "width": header.width, "height": header.height,
                "decode_ms": milliseconds(full), "megapixels_per_s": rounded(megapixels / full, 1),
                "downscale_ms": milliseconds(downscaled), "downscaled_to": "\(small.width)x\(small.height)",
            ])
        }
        try printJSON(["decoder": "facegate", "max_side": maxSide, "results": results])
    }
}
