import ArgumentParser
import FaceEngine
import FaceGateRuntime
import Liveness

/// What `eval liveness` and `bench liveness` run on: one engine of the configured model (SFace: dlib's landmarks
/// cannot show depth) and the check's settings as the service has them (`LIVENESS_MIN_TURN_DEGREES` from the layered
/// environment unless `minTurn` is given).
struct LivenessEngine {
    let configuration: EngineConfiguration
    let settings: LivenessSettings
    let pool: EnginePool

    init(model: FaceModelKind?, minTurn: Double? = nil) throws {
        var environment = try EnvironmentFile.layeredEnvironment()
        if let model { environment["FACE_MODEL"] = model.rawValue }
        configuration = try EngineConfiguration(environment: environment)
        try configuration.verifyModels()
        var settings = LivenessSettings.default
        settings.minTurnDegrees =
            minTurn ?? Double(environment["LIVENESS_MIN_TURN_DEGREES"] ?? "") ?? settings.minTurnDegrees
        self.settings = settings
        pool = try configuration.makeBatchPool(workers: 1)
        guard pool.descriptor.landmarkLayout == .eyesNoseTipMouthCorners else {
            throw ValidationError("the liveness check needs YuNet's landmarks (FACE_MODEL=sface)")
        }
    }
}
