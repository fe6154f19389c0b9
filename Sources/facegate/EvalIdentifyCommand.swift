import ArgumentParser
import FaceEngine
import Foundation
import Gallery
import UseCases

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
    @Option(
        help: """
            Also require the next identity to be at least this much farther than the best (ambiguity margin; default: \
            FACE_MATCH_MARGIN).
            """)
    var margin: Float?
    @Option(help: "Photos enrolled per identity (the best match over them counts).") var enrolPhotos = 1
    @Option(help: "Also judge galleries of these many identities (every n-th enrolled one, same unknown probes).")
    var gallerySizes: [Int] = [50, 100]
    @Option(
        help: """
            Only identities with at least this many photos are enrolled (default: enrol-photos + 1); their probes are \
            the photos after the first min-photos − 1, so runs with different --enrol-photos probe the same photos.
            """)
    var minPhotos: Int?
    @Flag(
        help: """
            Apply the service's rule with the PIN band (FACE_CONFIRM_TARGET_FAR): known probes nobody matched whose own \
            member is among the band's candidates count as resolved by their PIN; adds confirm_tolerance, asked_members, \
            fnir_after_confirmation, strangers_asked and stranger_accept_bound, and a sweep of the band's rate.
            """)
    var confirm = false
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
                !skipIdentity.contains(identity), !(excludeDerived && row["derived"] == "yes")
            else { continue }
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
        let policy = setup.matchPolicy.with(margin: margin)

        var gallery: [(identity: String, embedding: [Float])] = []
        var enrolmentFailures = 0
        for identity in enrolled {
            let photos = filesByIdentity[identity]!.prefix(enrolPhotos).compactMap { embeddings[$0] ?? nil }
            if photos.isEmpty { enrolmentFailures += 1 }
            gallery += photos.map { (identity, $0) }
        }
        var knownProbes: [(identity: String, embedding: [Float]?)] = []
        for identity in enrolled {
            for file in filesByIdentity[identity]!.dropFirst(minimum - 1) {
                knownProbes.append((identity, embeddings[file] ?? nil))
            }
        }
        let unknownProbes = unknown.map { embeddings[filesByIdentity[$0]![0]] ?? nil }
        let failedToDetect = knownProbes.filter { $0.embedding == nil }.count + unknownProbes.filter { $0 == nil }.count

        let full = Scores(gallery: gallery, known: knownProbes, unknown: unknownProbes)
        let galleryFaces = gallery.count
        let rule = policy.rule(galleryFaces: galleryFaces)
        let result = full.judge(rule)
        // What an operator's FPIR targets give on this gallery (the service's own derivation), and the operating point
        // with the fewest misses among those admitting at most 1 % of unknown people over the model's range of
        // tolerances and margins (an in-sample choice: report it as such).
        let sweep = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1].map { target -> [String: Any] in
            let derived = setup.matchPolicy.with(margin: margin).with(
                targetFPIR: target, curve: pool.descriptor.falseMatches
            )
            .rule(galleryFaces: galleryFaces)
            let outcome = full.judge(derived)
            return [
                "target_fpir": target, "tolerance": rounded(Double(derived.tolerance)), "fnir": rounded(outcome.fnir),
                "fpir": rounded(outcome.fpir),
            ]
        }
        let knots = pool.descriptor.falseMatches.knots
        let low = knots.first!.distance, high = knots.last!.distance
        var bestPoint: [String: Any] = [:]
        var bestFNIR = Double.infinity
        for step in 0...80 {
            let tolerance = low + (high - low) * Float(step) / 80
            for candidate in stride(from: Float(0), through: 0.0401, by: 0.0025) {
                let outcome = full.judge(MatchRule(tolerance: tolerance, margin: candidate))
                if outcome.fpir <= 0.01 && outcome.fnir < bestFNIR {
                    bestFNIR = outcome.fnir
                    bestPoint = [
                        "tolerance": rounded(Double(tolerance)), "margin": rounded(Double(candidate), 4),
                        "fnir": rounded(outcome.fnir), "fpir": rounded(outcome.fpir),
                    ]
                }
            }
        }
        // Tolerances (no margin) meeting both targets on this set, FPIR ≤ 1 % and FNIR ≤ 3 %: how much room a
        // calibration has here.
        let fine = (0...800).map { low + (high - low) * Float($0) / 800 }
            .filter {
                let o = full.judge(MatchRule(tolerance: $0))
                return o.fpir <= 0.01 && o.fnir <= 0.03
            }
        let window: [String: Any] =
            fine.isEmpty ? [:] : ["from": rounded(Double(fine.first!)), "to": rounded(Double(fine.last!))]
        // The same rule on smaller galleries (every n-th enrolled identity, the same unknown probes): the derived
        // tolerance should hold FPIR near the target as the gallery grows while FNIR moves.
        let subsets = gallerySizes.filter { $0 < enrolled.count }.map { size -> [String: Any] in
            let kept = Set(
                stride(from: 0, to: enrolled.count, by: 1).filter {
                    $0 * size / enrolled.count != ($0 + 1) * size / enrolled.count
                }
                .map { enrolled[$0] })
            let scores = Scores(
                gallery: gallery.filter { kept.contains($0.identity) },
                known: knownProbes.filter { kept.contains($0.identity) }, unknown: unknownProbes)
            let faces = gallery.filter { kept.contains($0.identity) }.count
            let subsetRule = policy.rule(galleryFaces: faces)
            let outcome = scores.judge(subsetRule)
            return [
                "identities": kept.count, "gallery_faces": faces, "tolerance": rounded(Double(subsetRule.tolerance)),
                "known_probes": scores.known.count, "fnir": rounded(outcome.fnir), "fpir": rounded(outcome.fpir),
            ]
        }
        var confirmation: [String: Any] = [:]
        if confirm {
            guard let band = policy.confirmation else {
                throw ValidationError("--confirm needs the PIN band: FACE_CONFIRM_TARGET_FAR is 0")
            }
            confirmation = full.confirmation(rule, band: band.tolerance()).summary
            confirmation["confirm_target_far"] = band.falseMatchRate
            confirmation["confirm_sweep"] = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03].map { far -> [String: Any] in
                var point = full.confirmation(
                    rule, band: pool.descriptor.falseMatches.tolerance(forFalseMatchRate: far)
                ).summary
                point["confirm_target_far"] = far
                return point
            }
        }
        try printJSON(
            confirmation.merging([
                "model": pool.descriptor.name,
                "model_version": pool.descriptor.version,
                "enrolled": enrolled.count - enrolmentFailures,
                "enrol_photos": enrolPhotos,
                "gallery_faces": galleryFaces,
                "enrolment_failures": enrolmentFailures,
                "known_probes": knownProbes.count,
                "unknown_probes": unknownProbes.count,
                "missed_or_wrong": result.missedOrWrong,
                "wrong_identity": result.wrong,
                "false_accepts": result.falseAccepts,
                "failed_to_detect": failedToDetect,
                "fnir": rounded(result.fnir),
                "fpir": rounded(result.fpir),
                "target_fpir": policy.targetFPIR.map { $0 as Any } ?? NSNull(),
                "tolerance": rounded(Double(rule.tolerance)),
                "margin": Double(margin),
                "best_at_fpir_1pct": bestPoint,
                "tolerances_meeting_fpir_1pct_fnir_3pct": window,
                "sweep": sweep,
                "gallery_subsets": subsets,
                "seconds": rounded((ContinuousClock.now - started) / .seconds(1), 2),
            ]) { $1 })
    }
}

/// Each probe's nearest enrolled identity (its closest photo) and the distance to the next identity, computed once;
/// every rule is then judged from these.
struct Scores {
    let known: [(identity: String, best: Nearest?)]
    let unknown: [Nearest?]

    init(
        gallery: [(identity: String, embedding: [Float])], known: [(identity: String, embedding: [Float]?)],
        unknown: [[Float]?]
    ) {
        func nearest(_ probe: [Float]) -> Nearest? {
            var closest: [String: Float] = [:]
            for entry in gallery {
                let distance = faceDistance(probe, entry.embedding)
                closest[entry.identity] = min(closest[entry.identity] ?? .infinity, distance)
            }
            let ranked = closest.sorted { $0.value < $1.value }
            guard let best = ranked.first else { return nil }
            return Nearest(ranked: ranked.prefix(CheckIn.maxCandidates + 1).map { ($0.key, $0.value) })
        }
        self.known = known.map { ($0.identity, $0.embedding.flatMap(nearest)) }
        self.unknown = unknown.map { $0.flatMap(nearest) }
    }

    /// Known probes missed or matched to somebody else, those matched to somebody else, unknown probes accepted.
    func judge(_ rule: MatchRule) -> (missedOrWrong: Int, wrong: Int, falseAccepts: Int, fnir: Double, fpir: Double) {
        var missedOrWrong = 0, wrong = 0
        for probe in known {
            guard let best = probe.best, best.accepted(by: rule) else {
                missedOrWrong += 1
                continue
            }
            if best.identity != probe.identity {
                missedOrWrong += 1
                wrong += 1
            }
        }
        let falseAccepts = unknown.filter { $0?.accepted(by: rule) ?? false }.count
        return (
            missedOrWrong, wrong, falseAccepts, Double(missedOrWrong) / Double(max(1, known.count)),
            Double(falseAccepts) / Double(max(1, unknown.count))
        )
    }

    /// The service's rule with the PIN band (`CheckIn`): a probe nobody matched 1:N is asked for a PIN when members lie
    /// within `band` (the nearest `CheckIn.maxCandidates` of them; every member taken to have a PIN). A known probe
    /// is resolved when its own member is among them; a stranger asked gets in only by guessing one of their PINs.
    func confirmation(_ rule: MatchRule, band: Float) -> ConfirmationOutcome {
        var outcome = ConfirmationOutcome(band: band, known: known.count, unknown: unknown.count)
        for probe in known {
            guard let best = probe.best else {
                outcome.unresolved += 1
                continue
            }
            if best.accepted(by: rule) {
                if best.identity != probe.identity { outcome.unresolved += 1 }
                continue
            }
            let asked = best.candidates(within: band)
            guard !asked.isEmpty else {
                outcome.unresolved += 1
                continue
            }
            if asked.contains(probe.identity) { outcome.membersAsked += 1 } else { outcome.unresolved += 1 }
        }
        for probe in unknown {
            guard let best = probe, !best.accepted(by: rule) else { continue }
            let asked = best.candidates(within: band)
            guard !asked.isEmpty else { continue }
            outcome.strangersAsked += 1
            outcome.strangerGuessChance += ConfirmationOutcome.guessChance(candidates: asked.count)
        }
        return outcome
    }
}

/// What the PIN band does to a set of probes (`Scores.confirmation`).
struct ConfirmationOutcome {
    var band: Float
    var known: Int
    var unknown: Int
    /// Known probes sent to the PIN pad with their own member among the candidates.
    var membersAsked = 0
    /// Known probes neither matched to their member by face nor resolvable by their PIN.
    var unresolved = 0
    var strangersAsked = 0
    /// The sum over the strangers asked of their chance to guess a candidate's PIN in the tries allowed.
    var strangerGuessChance = 0.0

    /// The chance to hit one of `candidates` PINs of four digits (the shortest) in `CheckIn.confirmationAttempts`
    /// tries, every PIN equally likely.
    static func guessChance(candidates: Int) -> Double {
        1 - pow(1 - Double(candidates) / 10_000, Double(CheckIn.confirmationAttempts))
    }

    var summary: [String: Any] {
        [
            "confirm_tolerance": rounded(Double(band)),
            "asked_members": rounded(Double(membersAsked) / Double(max(1, known))),
            "fnir_after_confirmation": rounded(Double(unresolved) / Double(max(1, known))),
            "strangers_asked": rounded(Double(strangersAsked) / Double(max(1, unknown))),
            "stranger_accept_bound": Double(strangerGuessChance) / Double(max(1, unknown)),
        ]
    }
}

/// A probe's nearest enrolled identity and the distance to the nearest *other* identity.
struct Nearest {
    /// The nearest identities, nearest first (one more than the PIN band asks at most; never empty).
    var ranked: [(identity: String, distance: Float)]

    var identity: String { ranked[0].identity }
    var distance: Float { ranked[0].distance }
    var runnerUp: Float { ranked.dropFirst().first?.distance ?? .infinity }

    func accepted(by rule: MatchRule) -> Bool { rule.accepts(distance: distance, runnerUp: runnerUp) }

    /// The identities a check-in would ask the PIN of: the nearest `CheckIn.maxCandidates` within `band`.
    func candidates(within band: Float) -> [String] {
        ranked.prefix(CheckIn.maxCandidates).filter { $0.distance <= band }.map(\.identity)
    }
}
