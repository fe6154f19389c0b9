import FaceEngine
import Foundation
import Gallery
import ImageDecoding
import Logging
import Storage
import UseCases

/// All that one face model brings to the service: its engines, the stores and the gallery of its embedding space,
/// the match policy from its false-match curve and its enrolment gate. A request takes one (`ActiveFaceModel.current`)
/// and uses it to the end: never one model's probe against another's gallery.
final class FaceModelRuntime: Sendable {
    let engine: EngineConfiguration
    /// What the use cases run with.
    let context: ModelContext

    var engines: EnginePool { context.pipeline.engines }
    var faces: FaceStore { context.faces }
    var members: MemberStore { context.members }
    var gallery: FaceGallery { context.gallery }
    var policy: MatchPolicy { context.policy }
    var descriptor: FaceModelDescriptor { engines.descriptor }
    var space: EmbeddingSpace { context.space }

    /// Loads the model's engines from `recognizers` and makes its stores and its (not yet loaded) gallery.
    init(_ engine: EngineConfiguration, recognizers: RecognizerSource, configuration: AppConfiguration,
         database: Database, metrics: ServiceMetrics, logger: Logger) throws {
        self.engine = engine
        context = try ModelContext(
            engines: recognizers.engines(engine), engine: engine, configuration: configuration, database: database,
            logger: logger, timings: metrics)
    }
}

/// Where the service's face engines come from: the model files (`FACE_MODEL`, `MODELS_DIR`, checked against their
/// checksums), or a recognizer made directly — for tests about authentication or HTTP, not about faces, which then
/// need no model files (`buildApplication(_:recognizers:)`).
public struct RecognizerSource: Sendable {
    let engines: @Sendable (EngineConfiguration) throws -> EnginePool

    /// The configured model, loaded from its files.
    public static let modelFiles = RecognizerSource { engine in
        try engine.verifyModels()
        return try EnginePool(
            count: engine.workers, model: engine.model, models: FaceModels(directory: engine.modelsDirectory),
            settings: engine.settings, queueLimit: engine.queueLimit, maxWait: engine.maxWait)
    }

    /// Engines of whatever `make` returns (one per worker), whatever `FACE_MODEL` says.
    public static func made(by make: @escaping @Sendable () throws(FaceEngineError) -> any FaceRecognizer) -> RecognizerSource {
        RecognizerSource { engine in
            try EnginePool(count: engine.workers, queueLimit: engine.queueLimit, maxWait: engine.maxWait, makeRecognizer: make)
        }
    }
}
