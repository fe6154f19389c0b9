import ArgumentParser
import FaceEngine
import Foundation
import Gallery

/// Open-set 1:N identification: `facegate eval identify --manifest CSV --root DIR`.
struct EvalIdentifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify",
        abstract: """
            Enrols the first photo of each identity with two or more, probes with the rest and with one-photo \
            identities as unknowns; the last stdout line is a JSON summary with fnir and fpir.
            """)

    @Option(help: "CSV with columns file,identity.") var manifest: String
    @Option(help: "Identities to leave out (repeatable), e.g. one photo saved in several containers.")
    var skipIdentity: [String] = []
    @Flag(help: "Leave out rows whose 'derived' column is 'yes' (synthetic variants, not real photos).")
    var excludeDerived = false
    @Option(help: """
        Also require the next identity to be at least this much farther than the best (ambiguity margin; default: \
        FACE_MATCH_MARGIN).
        """)
    var margin: Float?
    @Option(help: "Photos enrolled per identity (the best match over them counts).") var enrolPhotos = 1
    @Option(help: """
        Only identities with at least this many photos are enrolled (default: enrol-photos + 1); their probes are \
        the photos after the first min-photos − 1, so runs with different --enrol-photos probe the same photos.
        """)
    var minPhotos: Int?
    @OptionGroup var options: EvalOptions

    /// Labels that mark a row as not one labelled person.
    static let unlabelled: Set<String> = ["", "multiple", "no_face", "unknown", "invalid"]

    func run() async throws {
        let started = ContinuousClock.now
        let setup = try options.engineConfiguration()
        let margin = self.margin ?? setup.matchMargin
        var filesByIdentity: [String: [String]] = [:]
        for row in try readCSV(manifest) {
            guard let file = row["file"], let identity = row["identity"], !Self.unlabelled.contains(identity),
                  !skipIdentity.contains(identity), !(excludeDerived && row["derived"] == "yes") else { continue }
            filesByIdentity[identity, default: []].append(file)
        }
        let identities = filesByIdentity.keys.sorted()
        let minimum = minPhotos ?? enrolPhotos + 1
        guard enrolPhotos >= 1, minimum > enrolPhotos else {
            throw ValidationError("--min-photos must be larger than --enrol-photos (at least 1)")
        }
        let enrolled = identities.filter { filesByIdentity[$0]!.count >= minimum }
        let unknown = identities.filter { filesByIdentity[$0]!.count == 1 }

        let pool = try setup.makeBatchPool()
        let files = (enrolled + unknown).flatMap { filesByIdentity[$0]! }
        let embeddings = try await embedLargestFaces(files, root: options.root, pool: pool)

        var gallery: [(identity: String, embedding: [Float])] = []
        var enrolmentFailures = 0
        for identity in enrolled {
            let photos = filesByIdentity[identity]!.prefix(enrolPhotos).compactMap { embeddings[$0] ?? nil }
            if photos.isEmpty { enrolmentFailures += 1 }
            gallery += photos.map { (identity, $0) }
        }
        // Each probe's nearest enrolled identity (its closest photo) and the distance to the next identity, once;
        // every tolerance and margin is then judged from these.
        func nearest(_ probe: [Float]) -> Nearest? {
            var closest: [String: Float] = [:]
            for entry in gallery {
                let distance = faceDistance(probe, entry.embedding)
                closest[entry.identity] = min(closest[entry.identity] ?? .infinity, distance)
            }
            let ranked = closest.sorted { $0.value < $1.value }
            guard let best = ranked.first else { return nil }
            return Nearest(identity: best.key, distance: best.value, runnerUp: ranked.dropFirst().first?.value ?? .infinity)
        }
        var known: [(identity: String, best: Nearest?)] = []
        var unknownBest: [Nearest?] = []
        var failedToDetect = 0
        for identity in enrolled {
            for file in filesByIdentity[identity]!.dropFirst(minimum - 1) {
                let probe = embeddings[file] ?? nil
                if probe == nil { failedToDetect += 1 }
                known.append((identity, probe.flatMap(nearest)))
            }
        }
        for identity in unknown {
            let probe = embeddings[filesByIdentity[identity]![0]] ?? nil
            if probe == nil { failedToDetect += 1 }
            unknownBest.append(probe.flatMap(nearest))
        }
        func judge(_ tolerance: Float, margin: Float) -> (missedOrWrong: Int, wrong: Int, falseAccepts: Int) {
            let rule = MatchRule(tolerance: tolerance, margin: margin)
            var missedOrWrong = 0, wrong = 0
            for probe in known {
                guard let best = probe.best, best.accepted(by: rule) else {
                    missedOrWrong += 1
                    continue
                }
                if best.identity != probe.identity { missedOrWrong += 1; wrong += 1 }
            }
            let falseAccepts = unknownBest.filter { $0?.accepted(by: rule) ?? false }.count
            return (missedOrWrong, wrong, falseAccepts)
        }
        let knownProbes = known.count, unknownProbes = unknownBest.count
        func rates(_ result: (missedOrWrong: Int, wrong: Int, falseAccepts: Int)) -> (fnir: Double, fpir: Double) {
            (Double(result.missedOrWrong) / Double(max(1, knownProbes)),
             Double(result.falseAccepts) / Double(max(1, unknownProbes)))
        }
        let (missedOrWrong, wrong, falseAccepts) = judge(setup.matchTolerance, margin: margin)
        let tolerances = stride(from: Float(0.04), through: 0.1001, by: 0.005).map { $0 }
        let sweep = tolerances.map { tolerance -> [String: Any] in
            let (fnir, fpir) = rates(judge(tolerance, margin: margin))
            return ["tolerance": rounded(Double(tolerance), 3), "fnir": rounded(fnir), "fpir": rounded(fpir)]
        }
        // The operating point with the fewest misses among those admitting at most 1 % of unknown people, over a
        // grid of tolerances and margins (an in-sample choice: report it as such).
        var bestPoint: [String: Any] = [:]
        var bestFNIR = Double.infinity
        for tolerance in stride(from: Float(0.04), through: 0.1001, by: 0.0025) {
            for candidate in stride(from: Float(0), through: 0.0401, by: 0.0025) {
                let (fnir, fpir) = rates(judge(tolerance, margin: candidate))
                if fpir <= 0.01 && fnir < bestFNIR {
                    bestFNIR = fnir
                    bestPoint = ["tolerance": rounded(Double(tolerance), 4), "margin": rounded(Double(candidate), 4),
                                 "fnir": rounded(fnir), "fpir": rounded(fpir)]
                }
            }
        }
        try printJSON([
            "enrolled": enrolled.count - enrolmentFailures,
            "enrol_photos": enrolPhotos,
            "enrolment_failures": enrolmentFailures,
            "known_probes": knownProbes,
            "unknown_probes": unknownProbes,
            "missed_or_wrong": missedOrWrong,
            "wrong_identity": wrong,
            "false_accepts": falseAccepts,
            "failed_to_detect": failedToDetect,
            "fnir": rounded(Double(missedOrWrong) / Double(max(1, knownProbes))),
            "fpir": rounded(Double(falseAccepts) / Double(max(1, unknownProbes))),
            "tolerance": Double(setup.matchTolerance),
            "margin": Double(margin),
            "best_at_fpir_1pct": bestPoint,
            "detector": setup.settings.detector.rawValue,
            "sweep": sweep,
            "seconds": rounded((ContinuousClock.now - started) / .seconds(1), 2),
        ])
    }
}

/// A probe's nearest enrolled identity and the distance to the nearest *other* identity.
struct Nearest {
    var identity: String
    var distance: Float
    var runnerUp: Float

    func accepted(by rule: MatchRule) -> Bool { rule.accepts(distance: distance, runnerUp: runnerUp) }
}
