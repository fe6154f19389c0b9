import ArgumentParser
import FaceEngine
import Foundation

/// Verification accuracy on labelled pairs (LFW protocol): `facegate eval pairs --pairs CSV --root DIR`.
struct EvalPairsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs",
        abstract: "Accuracy on a CSV of file_a,file_b,same_person pairs; the last stdout line is a JSON summary.")

    @Option(help: "CSV with columns file_a,file_b,same_person (1/0, yes/no, true/false).") var pairs: String
    @OptionGroup var options: EvalOptions
    @Flag(help: "List the pairs misclassified at the best threshold on stderr.") var showErrors = false

    func run() async throws {
        let started = ContinuousClock.now
        let setup = try options.engineConfiguration()
        let rows = try readCSV(pairs)
        let labelled: [(a: String, b: String, same: Bool)] = try rows.map { row in
            guard let a = row["file_a"], let b = row["file_b"], let raw = row["same_person"]?.lowercased() else {
                throw ValidationError("\(pairs) needs the columns file_a, file_b and same_person")
            }
            return (a, b, ["1", "yes", "true"].contains(raw))
        }
        let pool = try setup.makeBatchPool()
        let files = Array(Set(labelled.flatMap { [$0.a, $0.b] })).sorted()
        let embeddings = try await embedLargestFaces(files, root: options.root, pool: pool)

        var distances: [(distance: Float, same: Bool)] = []
        var scoredPairs: [(a: String, b: String, distance: Float?, same: Bool)] = []
        var failedToDetect = 0, correctAtTolerance = 0
        // A pair is a 1:1 verification: the service's tolerance for one comparison.
        let tolerance = setup.matchPolicy.tolerance(galleryFaces: 1)
        for pair in labelled {
            guard let a = embeddings[pair.a] ?? nil, let b = embeddings[pair.b] ?? nil else {
                failedToDetect += 1
                scoredPairs.append((pair.a, pair.b, nil, pair.same))
                continue
            }
            let distance = faceDistance(a, b)
            scoredPairs.append((pair.a, pair.b, distance, pair.same))
            distances.append((distance, pair.same))
            if (distance <= tolerance) == pair.same { correctAtTolerance += 1 }
        }
        let summary = PairStatistics(distances)
        if showErrors {
            for pair in scoredPairs where pair.distance.map({ ($0 <= summary.bestThreshold) != pair.same }) ?? true {
                let distance = pair.distance.map { String(format: "%.4f", $0) } ?? "no face"
                FileHandle.standardError.write(
                    Data("\(pair.same ? "same" : "diff") \(distance) \(pair.a) \(pair.b)\n".utf8))
            }
        }
        try printJSON([
            "pairs": labelled.count,
            "model": pool.descriptor.name, "tolerance": Double(tolerance),
            "accuracy": rounded(Double(correctAtTolerance) / Double(max(1, labelled.count))),
            "best_threshold": rounded(Double(summary.bestThreshold)),
            "best_threshold_accuracy": rounded(Double(summary.bestCorrect) / Double(max(1, labelled.count))),
            "tar_at_far_0_1pct": rounded(summary.trueAcceptRate(atFalseAcceptRate: 0.001)),
            "far_at_tolerance": rounded(summary.falseAcceptRate(at: tolerance)),
            "tar_at_tolerance": rounded(summary.trueAcceptRate(at: tolerance)),
            "failed_to_detect": failedToDetect,
            "detector": setup.descriptor.detector,
            "seconds": rounded((ContinuousClock.now - started) / .seconds(1), 2),
        ])
    }
}

/// Threshold statistics over scored pairs.
struct PairStatistics {
    let same: [Float]
    let different: [Float]
    /// The threshold (largest accepted distance) that classifies the most pairs right, and how many that is.
    let bestThreshold: Float
    let bestCorrect: Int

    init(_ scored: [(distance: Float, same: Bool)]) {
        same = scored.filter(\.same).map(\.distance).sorted()
        different = scored.filter { !$0.same }.map(\.distance).sorted()
        var best = (threshold: Float(0), correct: different.count)
        for candidate in scored.map(\.distance).sorted() {
            let correct =
                Self.count(same, atMost: candidate) + different.count - Self.count(different, atMost: candidate)
            if correct > best.correct { best = (candidate, correct) }
        }
        bestThreshold = best.threshold
        bestCorrect = best.correct
    }

    static func count(_ sorted: [Float], atMost threshold: Float) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= threshold { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func falseAcceptRate(at threshold: Float) -> Double {
        Double(Self.count(different, atMost: threshold)) / Double(max(1, different.count))
    }

    func trueAcceptRate(at threshold: Float) -> Double {
        Double(Self.count(same, atMost: threshold)) / Double(max(1, same.count))
    }

    /// The true-accept rate at the largest threshold whose false-accept rate stays at or under `far`.
    func trueAcceptRate(atFalseAcceptRate far: Double) -> Double {
        let allowed = Int((far * Double(different.count)).rounded(.down))
        // Accept strictly below the (allowed + 1)-th smallest impostor distance.
        guard allowed < different.count else { return 1 }
        let limit = different[allowed]
        let accepted = same.filter { $0 < limit }.count
        return Double(accepted) / Double(max(1, same.count))
    }
}
