import FaceEngine
import Storage
import UseCases

extension FaceReembedding {
    /// Re-embedding with the service's biometric keys (`BIOMETRIC_ENCRYPTION_KEY` and the previous ones).
    public init(configuration: AppConfiguration, faces: FaceStore, engines: EnginePool, batch: Int = 64) {
        self.init(sealer: configuration.security.biometricSealer, faces: faces, engines: engines, batch: batch)
    }
}
