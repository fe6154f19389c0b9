import ArgumentParser
import FaceEngine
import Foundation

/// The false-match curve of a face model: `facegate eval impostors --manifest CSV --root DIR`. Embeds every photo of a
/// labelled identity, compares each with every photo of every other identity and reports the distance below which a
/// given share of those impostor pairs falls (FAR(d)), from 0.5 down to the rate the pairs can still measure (at
/// least `--min-pairs` pairs below); below that the last decade's log-linear slope is extended to 1e-8, a heavier
/// tail than a normal fit (the cautious side: a heavier tail gives a tighter tolerance). The knots are the model's
/// `FalseMatchCurve`, printed as Swift for `FalseMatchCurves.swift` and as a JSON last line.
struct EvalImpostorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impostors",
        abstract: "Measure a model's per-comparison false-match rate curve; the last stdout line is JSON.")

    @Option(help: "CSV with columns file,identity.") var manifest: String
    @Option(help: "Identities to leave out (repeatable).") var skipIdentity: [String] = []
    @Flag(help: "Leave out rows whose 'derived' column is 'yes'.") var excludeDerived = false
    @Option(
        help: """
            Which identities to use: all, or the even or odd half by a hash of the name (calibrate on one half, check \
            on the other).
            """)
    var split = "all"
    @Option(help: "Fewest impostor pairs below a knot for it to be measured rather than extrapolated.") var minPairs =
        10
    @OptionGroup var options: EvalOptions

    func run() async throws {
        guard ["all", "even", "odd"].contains(split) else { throw ValidationError("--split takes all, even or odd") }
        let setup = try options.engineConfiguration()
        var identityOf: [String: String] = [:]
        for row in try readCSV(manifest) {
            guard let file = row["file"], let identity = row["identity"],
                !EvalIdentifyCommand.unlabelled.contains(identity),
                !skipIdentity.contains(identity), !(excludeDerived && row["derived"] == "yes"),
                split == "all" || (Self.hash(identity) % 2 == 0) == (split == "even")
            else { continue }
            identityOf[file] = identity
        }
        let pool = try setup.makeBatchPool()
        let embedded = try await embedLargestFaces(identityOf.keys.sorted(), root: options.root, pool: pool)
        let faces = embedded.compactMap { file, embedding in embedding.map { (identityOf[file]!, $0) } }
        var distances: [Float] = []
        distances.reserveCapacity(faces.count * faces.count / 2)
        for i in faces.indices {
            for j in (i + 1)..<faces.count where faces[i].0 != faces[j].0 {
                distances.append(faceDistance(faces[i].1, faces[j].1))
            }
        }
        distances.sort()
        guard distances.count >= 1000 else {
            throw ValidationError("only \(distances.count) impostor pairs; need 1000")
        }
        let knots = Self.knots(sortedDistances: distances, minPairs: minPairs)
        let name = pool.descriptor.name
        print(
            "    // \(name): \(faces.count) faces of \(Set(faces.map(\.0)).count) identities, \(distances.count) impostor pairs"
        )
        print("    static let \(name) = FalseMatchCurve(knots: [")
        for knot in knots {
            print(
                String(format: "        (%.5f, %.3g),", knot.distance, knot.far)
                    + (knot.measured ? "" : " // extrapolated"))
        }
        print("    ])")
        try printJSON([
            "model": name, "model_version": pool.descriptor.version, "faces": faces.count, "pairs": distances.count,
            "split": split,
            "knots": knots.map { ["distance": rounded(Double($0.distance)), "far": $0.far, "measured": $0.measured] },
        ])
    }

    /// Knots at FAR 0.5, then every quarter decade down to where fewer than `minPairs` pairs lie below, then the last
    /// measured decade's slope extended to 1e-8; distances strictly rising.
    static func knots(sortedDistances distances: [Float], minPairs: Int) -> [(
        distance: Float, far: Double, measured: Bool
    )] {
        let n = Double(distances.count)
        var knots: [(distance: Float, far: Double, measured: Bool)] = []
        var exponent = log10(0.5)
        while pow(10, exponent) * n >= Double(minPairs) {
            let far = pow(10, exponent)
            let distance = distances[max(0, Int((far * n).rounded(.down)) - 1)]
            if let last = knots.last, distance >= last.distance {
                // Knots are kept rising as FAR falls (collected high to low, reversed below).
            } else {
                knots.append((distance, far, true))
            }
            exponent = exponent == log10(0.5) ? -0.5 : exponent - 0.25
        }
        knots.reverse()
        // Extend with the slope (decades of FAR per unit distance) over the last measured decade.
        if knots.count >= 2 {
            let lowest = knots[0]
            let decadeUp = knots.first { log10($0.far) >= log10(lowest.far) + 1 } ?? knots[knots.count - 1]
            let slope = (log10(decadeUp.far) - log10(lowest.far)) / Double(decadeUp.distance - lowest.distance)
            var far = lowest.far / pow(10, 0.5)
            var extended: [(distance: Float, far: Double, measured: Bool)] = []
            while far >= 1e-8 * 0.999 {
                let distance = lowest.distance - Float((log10(lowest.far) - log10(far)) / slope)
                extended.append((distance, far, false))
                far /= pow(10, 0.5)
            }
            knots = extended.reversed() + knots
        }
        return knots
    }

    /// FNV-1a of the identity's name: a split that does not depend on the order of the file.
    static func hash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
