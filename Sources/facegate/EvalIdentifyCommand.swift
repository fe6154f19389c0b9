import ArgumentParser
import FaceEngine
import Foundation

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
    @OptionGroup var options: EvalOptions

    /// Labels that mark a row as not one labelled person.
    static let unlabelled: Set<String> = ["", "multiple", "no_face", "unknown", "invalid"]

    func run() async throws {
        let started = ContinuousClock.now
        let setup = try options.engineConfiguration()
        var filesByIdentity: [String: [String]] = [:]
        for row in try readCSV(manifest) {
            guard let file = row["file"], let identity = row["identity"], !Self.unlabelled.contains(identity),
                  !skipIdentity.contains(identity), !(excludeDerived && row["derived"] == "yes") else { continue }
            filesByIdentity[identity, default: []].append(file)
        }
        let identities = filesByIdentity.keys.sorted()
        let enrolled = identities.filter { filesByIdentity[$0]!.count >= 2 }
        let unknown = identities.filter { filesByIdentity[$0]!.count == 1 }

        let pool = try setup.makeBatchPool()
        let files = identities.flatMap { filesByIdentity[$0]! }
        let embeddings = try await embedLargestFaces(files, root: options.root, pool: pool)

        var gallery: [(identity: String, embedding: [Float])] = []
        var enrolmentFailures = 0
        for identity in enrolled {
            if let embedding = embeddings[filesByIdentity[identity]![0]] ?? nil {
                gallery.append((identity, embedding))
            } else {
                enrolmentFailures += 1
            }
        }
        func nearest(_ probe: [Float]) -> (identity: String, distance: Float)? {
            gallery.map { ($0.identity, faceDistance(probe, $0.embedding)) }.min { $0.1 < $1.1 }
        }
        // Each probe's nearest enrolled identity, once; every tolerance is then judged from these.
        var known: [(identity: String, best: (identity: String, distance: Float)?)] = []
        var unknownBest: [Float?] = []
        var failedToDetect = 0
        for identity in enrolled {
            for file in filesByIdentity[identity]!.dropFirst() {
                let probe = embeddings[file] ?? nil
                if probe == nil { failedToDetect += 1 }
                known.append((identity, probe.flatMap(nearest)))
            }
        }
        for identity in unknown {
            let probe = embeddings[filesByIdentity[identity]![0]] ?? nil
            if probe == nil { failedToDetect += 1 }
            unknownBest.append(probe.flatMap(nearest)?.distance)
        }
        func judge(_ tolerance: Float) -> (missedOrWrong: Int, wrong: Int, falseAccepts: Int) {
            var missedOrWrong = 0, wrong = 0
            for probe in known {
                guard let best = probe.best, best.distance <= tolerance else { missedOrWrong += 1; continue }
                if best.identity != probe.identity { missedOrWrong += 1; wrong += 1 }
            }
            let falseAccepts = unknownBest.filter { $0.map { $0 <= tolerance } ?? false }.count
            return (missedOrWrong, wrong, falseAccepts)
        }
        let knownProbes = known.count, unknownProbes = unknownBest.count
        let (missedOrWrong, wrong, falseAccepts) = judge(setup.matchTolerance)
        let sweep = stride(from: Float(0.04), through: 0.1001, by: 0.005).map { tolerance -> [String: Any] in
            let result = judge(tolerance)
            return ["tolerance": rounded(Double(tolerance), 3),
                    "fnir": rounded(Double(result.missedOrWrong) / Double(max(1, knownProbes))),
                    "fpir": rounded(Double(result.falseAccepts) / Double(max(1, unknownProbes)))]
        }
        try printJSON([
            "enrolled": gallery.count,
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
            "detector": setup.settings.detector.rawValue,
            "sweep": sweep,
            "seconds": rounded((ContinuousClock.now - started) / .seconds(1), 2),
        ])
    }
}
