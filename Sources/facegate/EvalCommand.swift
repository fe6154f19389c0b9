import ArgumentParser
import CSV
import FaceEngine
import FaceGateRuntime
import Foundation
import ImageDecoding

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measure recognition accuracy on labelled photos.",
        subcommands: [
            EvalPairsCommand.self, EvalIdentifyCommand.self, EvalImpostorsCommand.self, EvalQualityCommand.self,
            EvalLivenessCommand.self,
        ])
}

/// Options shared by the evaluations: where the photos and models are, and how the engine runs.
struct EvalOptions: ParsableArguments {
    @Option(help: "Folder the CSV's paths are relative to.") var root: String
    @Option(help: "Face model: sface or dlib (default: FACE_MODEL or sface).") var model: FaceModelKind?
    @Option(
        help: """
            A fixed maximum cosine distance for a match (default: FACE_MATCH_TOLERANCE, else derived from the target FPIR \
            and the gallery's size, as the service does).
            """)
    var tolerance: Float?
    @Option(help: "Share of strangers admitted the tolerance is derived for (default: FACE_MATCH_TARGET_FPIR or 0.01).")
    var targetFpir: Double?
    @Option(help: "Face engines running at once (default: ENGINE_WORKERS or one per core).") var workers: Int?

    /// The service's engine configuration (environment, .env, .local/dev.env) with this command's overrides.
    func engineConfiguration() throws -> EngineConfiguration {
        var environment = try EnvironmentFile.layeredEnvironment()
        // The model's own defaults (detection size, enrolment gates) come with it.
        if let model { environment["FACE_MODEL"] = model.rawValue }
        var configuration = try EngineConfiguration(environment: environment)
        if let tolerance { configuration.matchTolerance = tolerance }
        if let targetFpir {
            configuration.targetFPIR = targetFpir
            if tolerance == nil { configuration.matchTolerance = nil }
        }
        if let workers { configuration.workers = max(1, workers) }
        try configuration.verifyModels()
        return configuration
    }
}

extension FaceModelKind: ExpressibleByArgument {}

extension EngineConfiguration {
    /// A pool for batch work: as many engines as configured, and no queue limit (the caller bounds its own work).
    func makeBatchPool(workers: Int? = nil) throws -> EnginePool {
        try EnginePool(
            count: workers ?? self.workers, model: model, models: FaceModels(directory: modelsDirectory),
            settings: settings,
            queueLimit: 1 << 20)
    }
}

/// Decodes each file and finds its faces (largest first, at most `limit`), keeping `pool.size * 2` files in
/// flight. A file that cannot be read or decoded maps to nil; one without faces to an empty list.
func encodeFiles(
    _ files: [String], root: String, pool: EnginePool, limit: Int = .max
) async throws -> [String: [FaceEncoding]?] {
    let decoder = ImageDecoder()
    let encoded = try await concurrentMap(files, width: pool.size * 2) { file in
        try await pool.run { engine -> [FaceEncoding]? in
            guard let data = FileManager.default.contents(atPath: root + "/" + file),
                let image = try? decoder.decode([UInt8](data))
            else { return nil }
            return try engine.faceEncodings(in: image, limit: limit)
        }
    }
    return Dictionary(zip(files, encoded), uniquingKeysWith: { first, _ in first })
}

/// The embedding of each file's largest face; nil where no face was found or the file is unusable.
func embedLargestFaces(_ files: [String], root: String, pool: EnginePool) async throws -> [String: [Float]?] {
    try await encodeFiles(files, root: root, pool: pool, limit: 1).mapValues { $0?.first?.embedding }
}

/// The rows of a CSV file with a header.
func readCSV(_ path: String) throws -> [[String: String]] { try CSVTable(path: path).rows }

func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func rounded(_ value: Double, _ places: Int = 5) -> Double {
    let scale = pow(10, Double(places))
    return (value * scale).rounded() / scale
}
