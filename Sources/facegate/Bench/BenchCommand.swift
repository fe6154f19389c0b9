import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Throughput benchmarks for sizing hardware (benchmarks/README.md runs them side by side).",
        subcommands: [
            BenchDecodeCommand.self, BenchEngineCommand.self, BenchPipelineCommand.self, BenchSearchCommand.self,
            BenchSeedCommand.self, BenchLoadCommand.self,
        ])
}

/// Times a closure: a few warm-up runs, then at least `minRuns` runs and at least `minSeconds` of running.
struct Stopwatch {
    var warmUp = 2
    var minRuns = 10
    var maxRuns = 1000
    var minSeconds = 1.0

    /// Median seconds of one run.
    func median(_ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<warmUp { try body() }
        var samples: [Double] = []
        let clock = ContinuousClock()
        let started = clock.now
        while samples.count < minRuns
            || (samples.count < maxRuns && (clock.now - started) < .seconds(minSeconds)) {
            let start = clock.now
            try body()
            samples.append((clock.now - start) / .seconds(1))
        }
        return facegate.median(samples)
    }
}

func milliseconds(_ seconds: Double) -> Double { rounded(seconds * 1000, 3) }

/// The bytes of a file, or a usage error naming it.
func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    return [UInt8](data)
}
