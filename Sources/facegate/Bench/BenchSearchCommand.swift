import ArgumentParser
import Foundation
import Gallery
import Logging
import PostgresNIO
import Storage
import Synchronization
import VectorSearch

/// `facegate bench search`: the in-memory BLAS index against pgvector (exact scan and HNSW) on synthetic vectors made
/// in the configured database (DATABASE_URL), per size. The last stdout line is the JSON of issue 5.
struct BenchSearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search latency of the in-memory index vs pgvector exact and HNSW; last stdout line is JSON.")

    @Option(help: "Comma-separated index sizes.") var sizes = "10000,100000"
    @Option(help: "Vector dimension.") var dim = 128
    @Option(help: "Queries timed per size against the in-memory index.") var queries = 200
    @Option(help: "Queries timed against pgvector (its exact scan is slow at large sizes).") var pgvectorQueries = 20
    @Option(help: "Results per query.") var k = 5
    @Flag(help: "Skip building the HNSW index (slow at a million rows on two cores).") var skipHnsw = false
    @Option(help: "Build and time the HNSW index only up to this many vectors.") var hnswMaxSize = Int.max
    @Option(help: "hnsw.ef_search for the HNSW queries (the service's HNSW_EF_SEARCH default).") var efSearch = 100
    @Option(help: "The int8 kernel to time (generic, avx2, avx512; default: the one this CPU runs).") var int8Kernel:
        String?

    func run() async throws {
        let sizeList = try sizes.split(separator: ",").map { raw -> Int in
            guard let size = Int(raw.trimmingCharacters(in: .whitespaces)), size > 0 else {
                throw ValidationError("--sizes takes positive whole numbers, e.g. 10000,100000")
            }
            return size
        }
        if let int8Kernel, !VectorIndex<FaceRef>.availableInt8Kernels.contains(int8Kernel) {
            throw ValidationError(
                "this CPU runs the int8 kernels \(VectorIndex<FaceRef>.availableInt8Kernels), not \(int8Kernel)")
        }
        let (client, logger) = try await benchDatabase()
        let bandwidth = Self.memoryBandwidth()
        print(String(format: "memory bandwidth (one thread, streaming read): %.1f GB/s", bandwidth / 1e9))
        print("CPU: \(Self.cpuVectorFeatures().joined(separator: " ")); int8 kernel: \(kernelName)")
        let json = try await withPostgresClient(client) { [self] in
            var results: [[String: Any]] = []
            for size in sizeList {
                results.append(try await measure(size: size, client: client, logger: logger, bandwidth: bandwidth))
            }
            let summary: [String: Any] = [
                "machine": [
                    "cores": ProcessInfo.processInfo.activeProcessorCount,
                    "memory_bandwidth_gb_s": rounded(bandwidth / 1e9, 2),
                    "openblas_threads": ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset",
                    "cpu_vector_features": Self.cpuVectorFeatures(),
                    "int8_kernel": kernelName,
                ] as [String: Any],
                "dim": dim, "k": k, "results": results,
            ]
            return String(
                decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self)
        }
        print(json)
    }

    private func measure(size: Int, client: PostgresClient, logger: Logger, bandwidth: Double) async throws -> [String:
        Any]
    {
        let table = SyntheticVectorTable(client: client, dimension: dim, logger: logger)
        do {
            let result = try await measure(size: size, table: table, bandwidth: bandwidth)
            try await table.drop()
            return result
        } catch {
            try? await table.drop()
            throw error
        }
    }

    private func measure(size: Int, table: SyntheticVectorTable, bandwidth: Double) async throws -> [String: Any] {
        let clock = ContinuousClock()
        var started = clock.now
        try await table.create(rows: size, seed: 0.5)
        let createSeconds = (clock.now - started) / .seconds(1)

        // The gallery's own structure: FaceRef ids (face and member UUIDs), sized as the gallery sizes it.
        let residentBefore = Self.residentBytes()
        let index = VectorIndex<FaceRef>(dimension: dim, capacity: FaceGallery.indexCapacity(for: size))
        started = clock.now
        try await table.forEachRow { id, embedding in index.insert(embedding, id: Self.faceRef(id)) }
        let loadSeconds = (clock.now - started) / .seconds(1)
        let residentGrowth = Self.residentBytes() - residentBefore

        var random = SystemRandomNumberGenerator()
        let probes = (0..<max(queries, 32)).map { _ in (0..<dim).map { _ in Float.random(in: -1...1, using: &random) } }
        // The service's scan (int8 copy, Float32 re-rank) and the full Float32 scan, query by query side by side.
        var memoryTimes: [Double] = [], float32Times: [Double] = [], rescored: [Double] = []
        var memoryAnswers: [[Int]] = []
        var float32Agrees = 0, fallBacks = 0
        for probe in probes.prefix(queries) {
            var start = clock.now
            let (found, report) = index.search(probe, k: k, scan: scan)
            memoryTimes.append((clock.now - start) / .milliseconds(1))
            start = clock.now
            let float32 = index.search(probe, k: k, scan: .float32).matches
            float32Times.append((clock.now - start) / .milliseconds(1))
            memoryAnswers.append(found.map { Self.rowID($0.id) })
            if found == float32 { float32Agrees += 1 }
            rescored.append(Double(report?.rescored ?? size))
            if report?.fellBack ?? false { fallBacks += 1 }
        }
        let batch = Array(probes.prefix(32))
        let batchStart = clock.now
        _ = index.search(batch: batch, k: k)
        let batchPerQuery = (clock.now - batchStart) / .milliseconds(1) / Double(batch.count)
        let indexBytes = index.byteCount
        let (duringWrites, writesPerSecond) = Self.searchTimesDuringWrites(
            index, probes: Array(probes.prefix(queries)), k: k)

        let pgProbes = Array(probes.prefix(min(pgvectorQueries, queries)))
        var exactTimes: [Double] = []
        var exactAgrees = 0
        for (i, probe) in pgProbes.enumerated() {
            let start = clock.now
            let ids = try await table.nearest(probe, k: k).map(\.id)
            exactTimes.append((clock.now - start) / .milliseconds(1))
            if ids == memoryAnswers[i] { exactAgrees += 1 }
        }
        var result: [String: Any] = [
            "size": size,
            "memory_ms_p50": rounded(percentile(memoryTimes, 0.5), 4),
            "memory_ms_p99": rounded(percentile(memoryTimes, 0.99), 4),
            "float32_ms_p50": rounded(percentile(float32Times, 0.5), 4),
            "int8_speedup_over_float32": rounded(percentile(float32Times, 0.5) / percentile(memoryTimes, 0.5), 2),
            "rescored_per_query_mean": rounded(rescored.reduce(0, +) / Double(max(1, rescored.count)), 1),
            "rescored_per_query_p99": rounded(percentile(rescored, 0.99), 1),
            "fallbacks_to_float32": fallBacks,
            "float32_agreement": "\(float32Agrees)/\(min(queries, probes.count))",
            "memory_batch32_ms_per_query": rounded(batchPerQuery, 4),
            "memory_ms_p50_during_writes": rounded(percentile(duringWrites, 0.5), 4),
            "memory_ms_p99_during_writes": rounded(percentile(duringWrites, 0.99), 4),
            "writes_per_second_during_searches": rounded(writesPerSecond, 1),
            "pgvector_exact_ms_p50": rounded(percentile(exactTimes, 0.5), 3),
            "exact_agreement": "\(exactAgrees)/\(pgProbes.count)",
            "bandwidth_bound_ms": rounded(Double(size * dim * 4) / bandwidth * 1000, 4),
            "index_bytes": indexBytes,
            "resident_growth_bytes": residentGrowth,
            "load_seconds": rounded(loadSeconds, 2),
            "create_table_seconds": rounded(createSeconds, 2),
        ]
        if !skipHnsw && size <= hnswMaxSize {
            started = clock.now
            try await table.createHNSWIndex()
            result["hnsw_build_seconds"] = rounded((clock.now - started) / .seconds(1), 2)
            var hnswTimes: [Double] = []
            var hits = 0
            for (i, probe) in pgProbes.enumerated() {
                let start = clock.now
                let ids = try await table.nearest(probe, k: k, efSearch: efSearch).map(\.id)
                hnswTimes.append((clock.now - start) / .milliseconds(1))
                hits += Set(ids).intersection(memoryAnswers[i]).count
            }
            result["pgvector_hnsw_ms_p50"] = rounded(percentile(hnswTimes, 0.5), 3)
            result["hnsw_recall_at_\(k)"] = rounded(Double(hits) / Double(max(1, pgProbes.count * k)), 3)
            result["hnsw_ef_search"] = efSearch
        }
        print(
            String(
                format: "%d vectors: memory p50 %.3f ms (p99 %.3f; Float32 scan %.3f; batch-32 %.3f ms/query; "
                    + "re-scored %.1f rows/query), pgvector exact p50 %.1f ms, bandwidth bound (Float32) %.3f ms, "
                    + "load %.1f s", size, percentile(memoryTimes, 0.5), percentile(memoryTimes, 0.99),
                percentile(float32Times, 0.5), batchPerQuery, rescored.reduce(0, +) / Double(max(1, rescored.count)),
                percentile(exactTimes, 0.5), Double(size * dim * 4) / bandwidth * 1000, loadSeconds))
        return result
    }

    /// Search times while another thread enrols and deletes a face every millisecond (each write holds the write
    /// lock for one row copy; readers wait at most for it and for the searches already running).
    static func searchTimesDuringWrites(
        _ index: VectorIndex<FaceRef>, probes: [[Float]], k: Int
    ) -> (times: [Double], writesPerSecond: Double) {
        final class Writer: @unchecked Sendable {
            let stop = Atomic<Bool>(false)
            let writes = Atomic<Int>(0)
        }
        let writer = Writer()
        let done = DispatchSemaphore(value: 0)
        let dimension = index.dimension
        let started = ContinuousClock.now
        Thread.detachNewThread {
            var random = SystemRandomNumberGenerator()
            var n = 0
            while !writer.stop.load(ordering: .relaxed) {
                let ref = faceRef(1 << 40 + n)
                index.insert((0..<dimension).map { _ in Float.random(in: -1...1, using: &random) }, id: ref)
                index.remove(ref)
                n += 1
                writer.writes.store(n, ordering: .relaxed)
                usleep(1000)
            }
            done.signal()
        }
        var times: [Double] = []
        for probe in probes {
            let start = ContinuousClock.now
            _ = index.search(probe, k: k)
            times.append((ContinuousClock.now - start) / .milliseconds(1))
        }
        writer.stop.store(true, ordering: .relaxed)
        done.wait()
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        return (times, Double(writer.writes.load(ordering: .relaxed) * 2) / seconds)
    }

    /// A synthetic row's id as a face of its own member, and back.
    static func faceRef(_ id: Int) -> FaceRef {
        let face = UUID(uuid: Self.uuidBytes(UInt64(id), tag: 1)),
            member = UUID(uuid: Self.uuidBytes(UInt64(id), tag: 2))
        return FaceRef(face: face, member: member)
    }

    static func rowID(_ ref: FaceRef) -> Int {
        let b = ref.face.uuid
        return [b.10, b.11, b.12, b.13, b.14, b.15].reduce(0) { $0 << 8 | Int($1) }
    }

    private static func uuidBytes(_ value: UInt64, tag: UInt8) -> uuid_t {
        let v = withUnsafeBytes(of: value.bigEndian) { Array($0) }
        return (tag, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, v[2], v[3], v[4], v[5], v[6], v[7])
    }

    /// Bytes per second of one thread reading a 512 MB buffer, best of five passes.
    static func memoryBandwidth() -> Double {
        let count = 128 << 20
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var best = Double.infinity
        var sink: Float = 0
        for _ in 0..<5 {
            let start = ContinuousClock.now
            var sums = SIMD16<Float>()
            let raw = UnsafeRawPointer(buffer.baseAddress!)
            for i in stride(from: 0, to: count, by: 16) {
                sums += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            }
            sink += sums.sum()
            best = min(best, (ContinuousClock.now - start) / .seconds(1))
        }
        if sink == -1 { print(sink) }  // keeps the loop from being optimised away
        return Double(count * 4) / best
    }

    var kernelName: String { int8Kernel ?? VectorIndex<FaceRef>.int8Kernel }
    var scan: VectorIndex<FaceRef>.Scan { int8Kernel.map { .quantizedWith(kernel: $0) } ?? .quantized }

    /// The CPU's vector features (from /proc/cpuinfo), which decide the int8 kernel.
    static func cpuVectorFeatures() -> [String] {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return flags.split(separator: " ").map(String.init)
            .filter { ["sse4_2", "avx", "avx2", "fma"].contains($0) || $0.hasPrefix("avx512") }.sorted()
    }

    /// Resident set size of this process.
    static func residentBytes() -> Int { ProcessSample(pid: getpid())?.residentBytes ?? 0 }
}
