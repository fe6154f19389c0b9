import Foundation
import TestSupport
import Testing
import VectorSearch

/// The k best rows by a plain Float64 scan: what the BLAS index must agree with.
func bruteForce(_ rows: [Int: [Float]], _ query: [Float], k: Int) -> [(id: Int, similarity: Double)] {
    func dot(_ a: [Float], _ b: [Float]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += Double(a[i]) * Double(b[i]) }
        return sum
    }
    let queryNorm = dot(query, query).squareRoot()
    var scored: [(id: Int, similarity: Double)] = []
    for (id, row) in rows { scored.append((id, dot(row, query) / (dot(row, row).squareRoot() * queryNorm))) }
    scored.sort { $0.similarity > $1.similarity }
    return Array(scored.prefix(k))
}

func expectSame(
    _ found: [VectorMatch<Int>], _ expected: [(id: Int, similarity: Double)],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(found.map(\.id) == expected.map(\.id), sourceLocation: sourceLocation)
    for (a, b) in zip(found, expected) {
        #expect(abs(Double(a.similarity) - b.similarity) < 1e-5, sourceLocation: sourceLocation)
    }
}

@Suite("Vector index") struct VectorIndexTests {
    @Test("top-k equals a Float64 brute-force scan, one query at a time and batched")
    func matchesBruteForce() {
        var random = SplitMix64(seed: 1)
        let index = VectorIndex<Int>(dimension: 128, capacity: 16)  // grows several times
        var rows: [Int: [Float]] = [:]
        for id in 0..<3000 {
            rows[id] = random.vector(128)
            index.insert(rows[id]!, id: id)
        }
        #expect(index.count == 3000)
        let queries = (0..<40).map { _ in random.vector(128) }
        let batched = index.search(batch: queries, k: 5)
        for (query, batch) in zip(queries, batched) {
            let expected = bruteForce(rows, query, k: 5)
            expectSame(index.search(query, k: 5), expected)
            expectSame(batch, expected)
        }
        // A stored vector finds itself at distance 0.
        let own = index.search(rows[1234]!, k: 1)
        #expect(own.first?.id == 1234 && abs(own.first!.distance) < 1e-5)
    }

    @Test("an index large enough to be scored on several threads still equals the brute-force scan")
    func parallelScoring() {
        var random = SplitMix64(seed: 3)
        let index = VectorIndex<Int>(dimension: 16)
        var rows: [Int: [Float]] = [:]
        for id in 0..<60_000 {
            rows[id] = random.vector(16)
            index.insert(rows[id]!, id: id)
        }
        for _ in 0..<5 {
            let query = random.vector(16)
            expectSame(index.search(query, k: 8), bruteForce(rows, query, k: 8))
        }
    }

    @Test("removal moves the last row into the gap; replacing an id keeps one row; search stays exact")
    func removeAndReplace() {
        var random = SplitMix64(seed: 2)
        let index = VectorIndex<Int>(dimension: 32)
        var rows: [Int: [Float]] = [:]
        for id in 0..<1000 {
            rows[id] = random.vector(32)
            index.insert(rows[id]!, id: id)
        }
        for id in stride(from: 0, to: 1000, by: 3) {
            #expect(index.remove(id))
            rows[id] = nil
        }
        #expect(!index.remove(0))
        for id in stride(from: 1, to: 1000, by: 7) {
            rows[id] = random.vector(32)
            index.insert(rows[id]!, id: id)
        }
        #expect(index.count == rows.count)
        #expect(!index.contains(3) && index.contains(1))
        for _ in 0..<20 {
            let query = random.vector(32)
            expectSame(index.search(query, k: 10), bruteForce(rows, query, k: 10))
        }
    }

    @Test("zero vectors, k larger than the index and an empty index")
    func edgeCases() {
        let index = VectorIndex<String>(dimension: 4)
        #expect(index.search([1, 0, 0, 0], k: 3).isEmpty)
        #expect(!index.insert([0, 0, 0, 0], id: "zero"))
        index.insert([1, 0, 0, 0], id: "a")
        index.insert([0, 1, 0, 0], id: "b")
        let all = index.search([1, 1, 0, 0], k: 10)
        #expect(all.count == 2)
        #expect(index.search([0, 0, 0, 0], k: 1).isEmpty)
        #expect(index.search(batch: [[0, 0, 0, 0], [0, 1, 0, 0]], k: 1).map { $0.map(\.id) } == [[], ["b"]])
    }

    @Test("concurrent inserts, removals and searches from many tasks leave exactly the expected rows")
    func concurrentUse() async {
        let index = VectorIndex<Int>(dimension: 16, capacity: 8)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(100 + writer))
                    for n in 0..<500 {
                        let id = writer * 1000 + n
                        index.insert(random.vector(16), id: id)
                        if n % 2 == 1 { index.remove(id - 1) }
                    }
                }
            }
            for reader in 0..<8 {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(200 + reader))
                    for _ in 0..<300 {
                        let found = index.search(random.vector(16), k: 5)
                        precondition(found.count <= 5)
                    }
                }
            }
        }
        #expect(index.count == 8 * 250)
        for writer in 0..<8 {
            #expect(index.contains(writer * 1000 + 1) && !index.contains(writer * 1000))
        }
    }
}
