import Foundation
import TestSupport
import Testing
import VectorSearch

/// The quantised scan (int8 copy, bounds, Float32 re-rank) must give exactly what scoring every Float32 row gives:
/// the same ids in the same order with bit-identical similarities, for every int8 kernel this CPU runs.
@Suite("Quantised scan") struct QuantizedScanTests {
    static let kernels = VectorIndex<Int>.availableInt8Kernels

    /// Searches `queries` with every kernel and the Float32 scan; expects identical answers. Returns the reports.
    @discardableResult
    static func expectExact(
        _ index: VectorIndex<Int>, _ queries: [[Float]], k: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [QuantizedScanReport] {
        var reports: [QuantizedScanReport] = []
        for query in queries {
            let truth = index.search(query, k: k, scan: .float32).matches
            for kernel in kernels {
                let (found, report) = index.search(query, k: k, scan: .quantizedWith(kernel: kernel))
                #expect(found.map(\.id) == truth.map(\.id), "kernel \(kernel)", sourceLocation: sourceLocation)
                #expect(
                    found.map(\.similarity.bitPattern) == truth.map(\.similarity.bitPattern), "kernel \(kernel)",
                    sourceLocation: sourceLocation)
                if let report { reports.append(report) }
            }
        }
        return reports
    }

    static func index(_ rows: [[Float]]) -> VectorIndex<Int> {
        let index = VectorIndex<Int>(dimension: rows[0].count, capacity: 8)
        for (id, row) in rows.enumerated() { index.insert(row, id: id) }
        return index
    }

    @Test("this CPU runs the generic kernel and names the one it uses")
    func kernelsAreKnown() {
        #expect(Self.kernels.contains("generic"))
        #expect(Self.kernels.contains(VectorIndex<Int>.int8Kernel))
    }

    @Test(
        "random vectors: equal to the Float32 scan and to a Float64 brute force, few rows re-scored",
        arguments: [(1, 128, 5), (300, 128, 1), (5000, 128, 5), (5000, 256, 10), (60_000, 128, 5)])
    func randomVectors(rows count: Int, dimension: Int, k: Int) {
        var random = SplitMix64(seed: UInt64(count * dimension))
        var rows: [Int: [Float]] = [:]
        for id in 0..<count { rows[id] = random.vector(dimension) }
        let index = Self.index((0..<count).map { rows[$0]! })
        let queries = (0..<10).map { _ in random.vector(dimension) }
        let reports = Self.expectExact(index, queries, k: k)
        for query in queries { expectSame(index.search(query, k: k), bruteForce(rows, query, k: k)) }
        if count >= 5000 {
            let few = reports.allSatisfy { !$0.fellBack && $0.rescored < count / 20 }
            #expect(few, "\(reports)")
        }
    }

    @Test("duplicates and near-ties at the k-th place: the same rows and order, the fall-back taken when needed")
    func nearTies() {
        var random = SplitMix64(seed: 5)
        let base = random.vector(128)
        var rows = (0..<2000).map { _ in random.vector(128) }
        // 40 exact copies of one vector (ties broken by row order), and 300 rows within 1e-6 of another.
        rows += Array(repeating: base, count: 40)
        rows += (0..<300).map { _ in base.map { $0 + Float.random(in: -1e-6...1e-6, using: &random) } }
        rows += (0..<2000).map { _ in random.vector(128) }
        let index = Self.index(rows)
        let reports = Self.expectExact(index, [base, base.map { $0 * 3 }, random.vector(128)], k: 10)
        // The ties cannot be told apart by int8 bounds: the full Float32 scan runs there.
        let tiedQueries = reports.filter { $0.fellBack || $0.rescored >= 340 }
        #expect(!tiedQueries.isEmpty, "\(reports)")
        // Every row nearly the same: the bounds admit everything, and the fall-back gives the same answer.
        let degenerate = Self.index(
            (0..<1000).map { _ in base.map { $0 + Float.random(in: -1e-5...1e-5, using: &random) } })
        let degenerateReports = Self.expectExact(degenerate, [base], k: 5)
        let fellBack = degenerateReports.allSatisfy(\.fellBack)
        #expect(fellBack, "\(degenerateReports)")
    }

    @Test("vectors of tiny and huge norm before normalisation, sparse ones, and a single row")
    func extremeNorms() {
        var random = SplitMix64(seed: 9)
        var rows: [[Float]] = []
        for i in 0..<3000 {
            let scale: Float = [1e-15, 1e-3, 1, 1e3, 1e15][i % 5]
            var row = random.vector(128).map { $0 * scale }
            if i % 7 == 0 { row = row.enumerated().map { $0.offset % 16 == 0 ? $0.element : 0 } }  // sparse
            rows.append(row)
        }
        let index = Self.index(rows)
        Self.expectExact(
            index, (0..<10).map { _ in random.vector(128).map { $0 * 1e-12 } } + [rows[21], rows[7]], k: 5)
        Self.expectExact(Self.index([random.vector(128)]), [random.vector(128)], k: 3)
    }

    @Test("real face embeddings (dlib, from the shared photos): equal to the Float32 scan", .requiresFacesAndModels)
    func realEmbeddings() async throws {
        let embeddings = try await RealEmbeddings.load(photos: 160)
        let gallery = Array(embeddings.prefix(120)), probes = Array(embeddings.dropFirst(120))
        let index = Self.index(gallery)
        let reports = Self.expectExact(index, probes + gallery.prefix(10), k: 5)
        let rescored = reports.map(\.rescored).sorted()
        print(
            "real embeddings: \(gallery.count) rows, re-scored per query median \(rescored[rescored.count / 2]), "
                + "fall-backs \(reports.filter(\.fellBack).count) of \(reports.count)")
    }

    @Test("writers adding, replacing and removing rows while readers search: every answer is a consistent one")
    func concurrentWritersAndReaders() async {
        var random = SplitMix64(seed: 13)
        let dimension = 128
        let permanent = (0..<2000).map { _ in random.vector(dimension) }
        let index = Self.index(permanent)
        let churn = (0..<500).map { _ in random.vector(dimension) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<20 {
                    for (i, row) in churn.enumerated() { index.insert(row, id: 10_000 + i) }
                    for i in stride(from: round % 2, to: churn.count, by: 2) { index.remove(10_000 + i) }
                    for i in 0..<churn.count { index.remove(10_000 + i) }
                }
            }
            for reader in 0..<2 {
                group.addTask {
                    for i in 0..<300 {
                        // A permanent row always finds itself first, whatever the writer is doing.
                        let id = (i * 7 + reader) % permanent.count
                        let found = index.search(permanent[id], k: 3)
                        #expect(found.first?.id == id && found.first!.distance < 1e-5)
                        let ordered = zip(found, found.dropFirst()).allSatisfy { $0.similarity >= $1.similarity }
                        #expect(found.count == 3 && ordered)
                    }
                }
            }
        }
        #expect(index.count == permanent.count)
        Self.expectExact(index, (0..<5).map { _ in random.vector(dimension) }, k: 5)
    }
}
