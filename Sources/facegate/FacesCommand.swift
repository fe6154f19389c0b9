import ArgumentParser
import FaceEngine
import Foundation
import Logging
import PostgresNIO
import Storage
import UseCases

struct FacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces", abstract: "Stored faces.", subcommands: [ReembedFacesCommand.self])
}

/// `facegate faces reembed --model sface [--activate]`: embeds every enrolled photo with another face model from its
/// sealed crop (`FaceReembedding`), on all engines, resumable; progress with rate and ETA on a terminal, a line per
/// batch otherwise; the members whose photos predate crops on stderr; the last stdout line is a JSON summary. With
/// `--activate`, once every photo has a face of the model, it becomes the model all running instances match and enrol
/// with (`ModelActivationStore`), and the photos enrolled during the run are embedded too.
struct ReembedFacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reembed",
        abstract: "Give every enrolled photo a face of another model, from its sealed crop; last stdout line is JSON.")

    @Option(help: "The model to embed with: sface or dlib.") var model: FaceModelKind
    @Option(help: "Faces per batch.") var batch = 64
    @Option(help: "Face engines running at once (default: ENGINE_WORKERS or one per core).") var workers: Int?
    @Flag(help: "Then switch every running instance to this model (no restart) once every photo has a face of it.")
    var activate = false
    @Flag(
        help:
            "With --activate: switch even when some photos got no face of the model (their members would not be recognised)."
    )
    var force = false

    func run() async throws {
        var configuration = try loadConfiguration()
        configuration.engine.model = model
        if let workers { configuration.engine.workers = max(1, workers) }
        try configuration.engine.verifyModels()
        let engines = try configuration.engine.makeBatchPool()
        let started = ContinuousClock.now
        let progress = ProgressLine(unit: "photos", every: batch)
        let (outcome, reregister, activated) = try await withMigratedDatabase(configuration, label: "facegate.faces") {
            [batch, configuration, activate, force] database, logger in
            let store = FaceStore(database: database, logger: logger, templates: configuration.security.templateKeys)
            let reembedding = FaceReembedding(
                configuration: configuration, faces: store, engines: engines, batch: batch)
            let skipped: @Sendable (UUID, String) -> Void = { face, why in
                FileHandle.standardError.write(Data("face \(face): \(why); left as it is\n".utf8))
            }
            var outcome = try await reembedding.run(skipped: skipped) { done in
                progress.update(
                    done.finished, of: done.total,
                    detail: "\(done.noFace) without a face, \(done.unreadable) unreadable")
            }
            let reregister = try await store.membersToReregister(for: reembedding.target)
            guard activate else { return (outcome, reregister, false) }
            let activation = try await reembedding.activate(
                after: outcome, toReregister: reregister,
                activations: ModelActivationStore(database: database, logger: logger),
                force: force, skipped: skipped)
            if !activation.activated {
                FileHandle.standardError.write(
                    Data(
                        """
                        not activated: \(activation.photosWithoutFace) photo(s) have no face of \(reembedding.target) and their \
                        members would not be recognised; register them again (listed below) and run this again, or pass --force

                        """.utf8))
            }
            outcome += activation.caughtUp
            return (outcome, reregister, activation.activated)
        }
        progress.finish()
        for member in reregister {
            FileHandle.standardError.write(
                Data(
                    "member \(member.member) (\(member.name), organisation \(member.organization)): \(member.photos) photo(s) enrolled before crops were kept; register again\n"
                        .utf8))
        }
        let summary: [String: Any] = [
            "model": engines.descriptor.name, "model_version": engines.descriptor.version,
            "reembedded": outcome.reembedded, "no_face": outcome.noFace, "unreadable": outcome.unreadable,
            "already_there": outcome.alreadyThere, "activated": activated,
            "members_to_register_again": reregister.map {
                [
                    "organization": $0.organization.uuidString.lowercased(),
                    "member": $0.member.uuidString.lowercased(),
                    "name": $0.name, "photos": $0.photos,
                ] as [String: Any]
            },
            "seconds": ((ContinuousClock.now - started) / .seconds(1) * 100).rounded() / 100,
        ]
        try printJSON(summary)
        if outcome.unreadable > 0 || (activate && !activated) { throw ExitCode(1) }
    }
}
