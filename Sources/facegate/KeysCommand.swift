import ArgumentParser
import FaceGateRuntime
import Foundation
import Logging
import PostgresNIO
import Storage

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Key management.", subcommands: [RotateKeysCommand.self])
}

/// `facegate keys rotate`: after `BIOMETRIC_ENCRYPTION_KEY` was replaced (the old one moved to
/// `BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS`), re-seals every stored thumbnail and face crop and re-transforms every face
/// template under the new key (also the templates stored plain before templates were protected). Resumable; progress
/// with rate and ETA on a terminal, a line per batch otherwise; the last stdout line is a JSON summary.
struct RotateKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract:
            "Re-seal every thumbnail and crop and re-transform every template under BIOMETRIC_ENCRYPTION_KEY; last stdout line is JSON."
    )

    @Option(help: "Faces per batch.") var batch = 200

    func run() async throws {
        let configuration = try loadConfiguration()
        let started = ContinuousClock.now
        let progress = ProgressLine(unit: "thumbnails, crops, templates and photo digests", every: 1)
        let outcome = try await withMigratedDatabase(configuration, label: "facegate.keys") {
            [batch] database, logger in
            let rotation = BiometricKeyRotation(
                configuration: configuration,
                faces: FaceStore(database: database, logger: logger, templates: configuration.security.templateKeys),
                batch: batch)
            return try await rotation.run(unreadable: { face in
                FileHandle.standardError.write(
                    Data(
                        "face \(face): its thumbnail, crop or template is under a key this service does not have (or the member has its photo twice); left as it is\n"
                            .utf8))
            }) { done in
                progress.update(done.finished, of: done.total, detail: "\(done.unreadable) unreadable")
            }
        }
        progress.finish()
        let summary: [String: Any] = [
            "resealed": outcome.resealed, "rekeyed_templates": outcome.rekeyed,
            "keyed_photo_digests": outcome.keyedDigests, "unreadable": outcome.unreadable,
            "left": outcome.left,
            "seconds": ((ContinuousClock.now - started) / .seconds(1) * 100).rounded() / 100,
        ]
        try printJSON(summary)
        if outcome.left > 0 {
            FileHandle.standardError.write(
                Data(
                    """
                    \(outcome.left) thumbnail(s), crop(s) or template(s) were stored under an old key while the rotation ran \
                    (an instance or an import not yet on the new key): run facegate keys rotate again once every one is

                    """.utf8))
        }
        if outcome.unreadable > 0 || outcome.left > 0 { throw ExitCode(1) }
    }
}
