import ArgumentParser
import Foundation
import NIOCore

/// `facegate bench load --url URL --token T --photos LIST`: posts real photos to a running service from closed-loop
/// clients at each concurrency for a bounded time, and reports requests/s, latency percentiles, answers by status
/// and the server's CPU and memory (with `--server-pid`). Only loopback addresses are allowed.
///
/// `--challenge-left DIR --challenge-right DIR` instead of `--photos`: challenge check-ins. Each is a liveness
/// challenge's round trip, `POST URL/challenges` (`/api/v1/checkins/challenges` for the check-in URL) with the same
/// token, then the frames of the turn it asks for (the folder's JPEG files in name order, their capture order) as
/// multipart with its `challenge_id` to URL; a request's latency is the pair's, its status the check-in's.
struct BenchLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "HTTP load on a running facegate (loopback only); last stdout line is JSON.")

    @Option(help: "The endpoint, e.g. http://127.0.0.1:8080/api/v1/checkins.") var url: String
    @Option(help: "Bearer access token.") var token: String
    @Option(help: "A text file with one photo path per line (absolute, or relative to the working directory).")
    var photos: String?
    @Option(
        help: """
            Challenge check-ins instead of photos: a folder of the JPEG frames (in name order, their capture order) of a \
            head turn to the person's own left, sent when the service asks for 'left' (with --challenge-right).
            """)
    var challengeLeft: String?
    @Option(help: "The frames of a turn to the person's own right, sent when the service asks for 'right'.")
    var challengeRight: String?
    @Option(help: "Comma-separated client counts.") var concurrency = "1,8,32,64"
    @Option(help: "Seconds of load per concurrency.") var seconds = 30.0
    @Option(help: "Seconds of unmeasured load before the first concurrency.") var warmUp = 3.0
    @Option(help: "Seconds after which a request counts as timed out.") var timeout = 10.0
    @Option(help: "Longest Retry-After a client honours, in seconds.") var maxRetryAfter = 5.0
    @Option(help: "The server's process id, for its CPU time and resident memory.") var serverPid: Int32?

    func run() async throws {
        guard let components = URLComponents(string: url), components.scheme == "http",
            let host = components.host, ["127.0.0.1", "localhost", "::1"].contains(host)
        else {
            throw ValidationError("--url must be http:// on a loopback address (127.0.0.1, localhost or ::1)")
        }
        let levels = try concurrency.split(separator: ",").map { raw -> Int in
            guard let n = Int(raw.trimmingCharacters(in: .whitespaces)), (1...1024).contains(n) else {
                throw ValidationError("--concurrency takes numbers from 1 to 1024, e.g. 1,8,32,64")
            }
            return n
        }
        let path = components.path.isEmpty ? "/" : components.path
        let client: LoadClient
        var summary: [String: Any] = ["url": url, "seconds_per_level": seconds, "timeout_s": timeout]
        switch (photos, challengeLeft, challengeRight) {
        case (let photos?, nil, nil):
            let files = try readList(photos)
            guard Set(files.map { ($0 as NSString).pathExtension.lowercased() }).isSubset(of: ["jpg", "jpeg"]) else {
                throw ValidationError("the photos must be JPEG files (they are sent as image/jpeg)")
            }
            let bodies = try files.map { ByteBuffer(bytes: try readFile($0)) }
            client = LoadClient(
                target: .init(
                    host: host, port: components.port ?? 80, path: path,
                    headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "image/jpeg")]),
                bodies: bodies, timeout: .seconds(timeout), maxRetryAfter: .seconds(maxRetryAfter))
            summary["photos"] = files.count
        case (nil, let left?, let right?):
            let leftFrames = try Self.frames(in: left), rightFrames = try Self.frames(in: right)
            let challengePath = (path.hasSuffix("/") ? String(path.dropLast()) : path) + "/challenges"
            client = LoadClient(
                target: .init(
                    host: host, port: components.port ?? 80, path: path,
                    headers: [("Authorization", "Bearer \(token)")]),
                bodies: [],
                challenge: LoadClient.Challenge(path: challengePath, left: leftFrames, right: rightFrames),
                timeout: .seconds(timeout), maxRetryAfter: .seconds(maxRetryAfter))
            summary["mode"] = "challenge"
            summary["challenge_path"] = challengePath
            let frameCounts: [String: Int] = ["left": leftFrames.count, "right": rightFrames.count]
            summary["frames"] = frameCounts
        default:
            throw ValidationError("give --photos, or --challenge-left and --challenge-right (not both)")
        }

        if warmUp > 0 { _ = await client.run(concurrency: levels.first ?? 1, duration: .seconds(warmUp)) }
        var results: [[String: Any]] = []
        for level in levels {
            results.append(await measure(client, concurrency: level))
        }
        summary["levels"] = results
        try printJSON(summary)
    }

    /// The JPEG frames of a challenge folder in name order (their capture order): 2 to 8 of them.
    static func frames(in folder: String) throws -> [[UInt8]] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw ValidationError("cannot read the folder \(folder)")
        }
        let jpegs = names.filter { ["jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard (2...8).contains(jpegs.count) else {
            throw ValidationError("\(folder) holds \(jpegs.count) JPEG frames; a challenge check-in sends 2 to 8")
        }
        return try jpegs.map { try readFile(folder + "/" + $0) }
    }

    private func measure(_ client: LoadClient, concurrency: Int) async -> [String: Any] {
        let before = serverPid.flatMap(ProcessSample.init(pid:))
        let peak = PeakResident(pid: serverPid)
        let started = ContinuousClock.now
        let samples = await withTaskGroup(of: [LoadClient.Sample]?.self) { group in
            group.addTask {
                await peak.watch()
                return nil
            }
            group.addTask { await client.run(concurrency: concurrency, duration: .seconds(seconds)) }
            var result: [LoadClient.Sample] = []
            for await samples in group {
                if let samples {
                    result = samples
                    group.cancelAll()
                }
            }
            return result
        }
        let wall = (ContinuousClock.now - started) / .seconds(1)
        let after = serverPid.flatMap(ProcessSample.init(pid:))

        var statuses: [String: Int] = [:]
        for sample in samples { statuses[Self.label(sample.status), default: 0] += 1 }
        let ok = samples.filter { (200..<300).contains($0.status) }.map { $0.seconds * 1000 }
        let all = samples.map { $0.seconds * 1000 }
        let shed = samples.filter { $0.status == 429 || $0.status == 503 }
        var result: [String: Any] = [
            "concurrency": concurrency, "seconds": rounded(wall, 2), "requests": samples.count,
            "requests_per_s": rounded(Double(samples.count) / wall, 2), "ok_per_s": rounded(Double(ok.count) / wall, 2),
            "statuses": statuses, "latency_ok_ms": Self.percentiles(ok), "latency_all_ms": Self.percentiles(all),
            "errors": samples.filter { !(200..<300).contains($0.status) && $0.status != 429 && $0.status != 503 }.count,
            "shed_without_retry_after": shed.filter { !$0.retryAfter }.count,
        ]
        if let before, let after {
            result["server_cpu_cores"] = rounded((after.cpuSeconds - before.cpuSeconds) / wall, 2)
            result["server_rss_bytes"] = after.residentBytes
            result["server_rss_peak_bytes"] = max(peak.bytes, after.residentBytes)
        }
        print(
            String(
                format: "c=%d: %.1f req/s (%.1f ok/s), ok p50 %.0f ms p99 %.0f ms, statuses %@", concurrency,
                Double(samples.count) / wall, Double(ok.count) / wall, percentile(ok, 0.5), percentile(ok, 0.99),
                statuses.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")))
        return result
    }

    static func label(_ status: Int) -> String {
        switch status {
        case 0: "timeout"
        case -1: "connection_error"
        case -2: "bad_challenge_answer"
        default: String(status)
        }
    }

    static func percentiles(_ values: [Double]) -> [String: Double] {
        [
            "p50": rounded(percentile(values, 0.5), 1), "p95": rounded(percentile(values, 0.95), 1),
            "p99": rounded(percentile(values, 0.99), 1), "max": rounded(values.max() ?? 0, 1),
        ]
    }
}
