import ArgumentParser
import FaceGateRuntime
import Foundation
import Logging
import PostgresNIO
import Storage

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Throughput benchmarks for sizing hardware (benchmarks/README.md runs them side by side).",
        subcommands: [
            BenchDecodeCommand.self, BenchEngineCommand.self, BenchPipelineCommand.self, BenchSearchCommand.self,
            BenchSeedCommand.self, BenchLoadCommand.self, BenchTemplatesCommand.self, BenchLivenessCommand.self,
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
            || (samples.count < maxRuns && (clock.now - started) < .seconds(minSeconds))
        {
            let start = clock.now
            try body()
            samples.append((clock.now - start) / .seconds(1))
        }
        return facegate.median(samples)
    }
}

func milliseconds(_ seconds: Double) -> Double { rounded(seconds * 1000, 3) }

/// The non-empty lines of a list file (one photo path per line), or a usage error.
func readList(_ path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw ValidationError("cannot read \(path)")
    }
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
        !$0.isEmpty
    }
    guard !lines.isEmpty else { throw ValidationError("\(path) names no photo") }
    return lines
}

/// The bytes of a file, or a usage error naming it.
func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    return [UInt8](data)
}

/// The configured database (`DATABASE_URL` of the layered environment) as a client to run, with a logger that only
/// warns; a database that cannot be reached is reported at once, in PostgreSQL's words.
func benchDatabase() async throws -> (client: PostgresClient, logger: Logger) {
    let url = try AppConfiguration.databaseURL(environment: EnvironmentFile.layeredEnvironment())
    var logger = Logger(label: "facegate.bench")
    logger.logLevel = .warning
    try await DatabaseURL.checkConnection(url, logger: logger)
    return (PostgresClient(configuration: try DatabaseURL.configuration(from: url), backgroundLogger: logger), logger)
}
