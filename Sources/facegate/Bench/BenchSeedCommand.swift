import ArgumentParser
import FaceEngine
import FaceGateRuntime
import Foundation
import Logging
import PostgresNIO
import Storage

/// `facegate bench seed --organization ID --faces N`: fills a benchmark organisation (its name starts with
/// `bench`) with synthetic members of one random face each until it holds N faces, in the configured database.
struct BenchSeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Top up a 'bench…' organisation with synthetic faces (DATABASE_URL); last stdout line is JSON.")

    @Option(help: "The organisation's id (its name must start with 'bench').") var organization: String
    @Option(help: "Faces the organisation should hold afterwards (enrolled faces count).") var faces: Int
    @Option(help: "Rows per statement (one transaction and one gallery reload each).") var batch = 250_000
    @Flag(help: "Drop the faces table's HNSW index first (throw-away benchmark databases only).")
    var dropHnswIndex = false
    @Option(
        help: "The model the faces are stored as, the one the service under test runs (default: FACE_MODEL or sface).")
    var model: FaceModelKind?

    func run() async throws {
        guard let organizationID = UUID(uuidString: organization) else {
            throw ValidationError("--organization is not a UUID")
        }
        guard faces >= 0, batch > 0 else { throw ValidationError("--faces and --batch must not be negative") }
        var environment = try EnvironmentFile.layeredEnvironment()
        if let model { environment["FACE_MODEL"] = model.rawValue }
        let engine = try EngineConfiguration(environment: environment)
        let (space, dimension) = (engine.space, engine.descriptor.dimension)
        // Random vectors (and digests) stay random under any rotation: they are labelled with the service's key, so that a
        // pgvector search sees one key, as after `keys rotate`. Without the key the service under test has (which it
        // requires), the rows would be plain or under a key it lacks and it would never become ready: refused here.
        guard let key = environment["BIOMETRIC_ENCRYPTION_KEY"].flatMap({ Data(base64Encoded: $0) }), key.count == 32
        else {
            throw ValidationError(
                "BIOMETRIC_ENCRYPTION_KEY must be the key of the service under test (32 bytes, base64): the seeded templates are stored under it"
            )
        }
        let templateKeyID = TemplateKeys.storedID(of: [UInt8](key))
        let (client, logger) = try await benchDatabase()
        let started = ContinuousClock.now
        let added = try await withPostgresClient(client) { [self] in
            let synthetic = SyntheticFaces(client: client, logger: logger)
            if dropHnswIndex { try await synthetic.dropHNSWIndex() }
            return try await synthetic.topUp(
                organization: organizationID, to: faces, space: space, dimension: dimension,
                templateKeyID: templateKeyID,
                batch: batch)
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        print(String(format: "added %d synthetic faces in %.1f s", added, seconds))
        try printJSON(["added": added, "faces": faces, "seconds": rounded(seconds, 2)])
    }
}
