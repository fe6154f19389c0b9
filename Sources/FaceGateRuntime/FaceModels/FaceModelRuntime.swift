import FaceEngine
import Foundation
import Gallery
import ImageDecoding
import Logging
import Storage
import UseCases

/// All that one face model brings to the service: its engines, the stores and the gallery of its embedding space,
/// the match policy from its false-match curve and its enrolment gate. The one place the service (through
/// `ActiveFaceModel`, of which a request takes one and uses it to the end: never one model's probe against another's
/// gallery) and the command line (`facegate import`) make theirs. The gallery is not loaded yet.
public final class FaceModelRuntime: Sendable {
    public let engine: EngineConfiguration
    /// What the use cases run with.
    public let context: ModelContext

    public var engines: EnginePool { context.pipeline.engines }
    public var faces: FaceStore { context.faces }
    public var members: MemberStore { context.members }
    public var gallery: FaceGallery { context.gallery }
    public var policy: MatchPolicy { context.policy }
    public var descriptor: FaceModelDescriptor { engines.descriptor }
    public var space: EmbeddingSpace { context.space }

    /// Loads the model's engines from `recognizers` and makes the rest around them.
    public convenience init(
        _ engine: EngineConfiguration, recognizers: RecognizerSource, configuration: AppConfiguration,
        database: Database, logger: Logger, timings: (any StageTimings)? = nil
    ) throws {
        self.init(
            engines: try recognizers.engines(engine), engine: engine, configuration: configuration,
            database: database, logger: logger, timings: timings)
    }

    /// The runtime of loaded `engines` (made with `engine`'s settings): its stores and gallery in the model's embedding
    /// space over `database`, its match policy and enrolment gate, photos decoded within the configured limits.
    public init(
        engines: EnginePool, engine: EngineConfiguration, configuration: AppConfiguration, database: Database,
        logger: Logger, timings: (any StageTimings)? = nil
    ) {
        self.engine = engine
        let space = engines.descriptor.space
        let faces = FaceStore(
            database: database, logger: logger, templates: configuration.security.templateKeys, space: space)
        let members = MemberStore(database: database, logger: logger, space: space)
        context = ModelContext(
            pipeline: FacePipeline(
                engines: engines, decoder: ImageDecoder(limits: configuration.limits.image), timings: timings),
            gallery: FaceGallery(
                store: faces, members: members, dimension: engines.descriptor.dimension,
                backend: configuration.gallery.searchBackend, efSearch: configuration.gallery.hnswEfSearch,
                logger: logger),
            members: members, faces: faces, policy: engine.matchPolicy(for: engines.descriptor),
            gate: engine.enrolmentGate)
    }
}

/// Where the service's face engines come from: the model files (`FACE_MODEL`, `MODELS_DIR`, checked against their
/// checksums), or a recognizer made directly — for tests about authentication or HTTP, not about faces, which then
/// need no model files (`buildApplication(_:recognizers:)`).
public struct RecognizerSource: Sendable {
    public let engines: @Sendable (EngineConfiguration) throws -> EnginePool

    /// The configured model, loaded from its files.
    public static let modelFiles = RecognizerSource { engine in
        try engine.verifyModels()
        return try EnginePool(
            count: engine.workers, model: engine.model, models: FaceModels(directory: engine.modelsDirectory),
            settings: engine.settings, queueLimit: engine.queueLimit, maxWait: engine.maxWait)
    }

    /// Engines of whatever `make` returns (one per worker), whatever `FACE_MODEL` says.
    public static func made(by make: @escaping @Sendable () throws(FaceEngineError) -> any FaceRecognizer)
        -> RecognizerSource
    {
        RecognizerSource { engine in
            try EnginePool(
                count: engine.workers, queueLimit: engine.queueLimit, maxWait: engine.maxWait, makeRecognizer: make)
        }
    }
}
