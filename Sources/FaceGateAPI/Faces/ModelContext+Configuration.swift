import FaceEngine
import Foundation
import Gallery
import ImageDecoding
import Logging
import Storage
import UseCases

extension ModelContext {
    /// What the use cases run with for the model of `engines` (made with `engine`'s settings): its stores and gallery
    /// in the model's embedding space over `database`, its match policy and enrolment gate, photos decoded within the
    /// configured limits. The one place the service (`FaceModelRuntime`) and the command line (`facegate import`)
    /// make theirs. The gallery is not loaded yet.
    public init(
        engines: EnginePool, engine: EngineConfiguration, configuration: AppConfiguration, database: Database,
        logger: Logger, timings: (any StageTimings)? = nil
    ) {
        let space = engines.descriptor.space
        let faces = FaceStore(database: database, logger: logger, templates: configuration.templateKeys, space: space)
        let members = MemberStore(database: database, logger: logger, space: space)
        self.init(
            pipeline: FacePipeline(engines: engines, decoder: ImageDecoder(limits: configuration.imageLimits), timings: timings),
            gallery: FaceGallery(
                store: faces, members: members, dimension: engines.descriptor.dimension,
                backend: configuration.searchBackend, efSearch: configuration.hnswEfSearch, logger: logger),
            members: members, faces: faces, policy: engine.matchPolicy(for: engines.descriptor),
            gate: engine.enrolmentGate)
    }
}
