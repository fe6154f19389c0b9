import Storage
import UseCases

extension MemberImport {
    /// An import enrolling with `model` and the service's biometric keys, its photos bounded by `MAX_IMAGE_BYTES`.
    public init(configuration: AppConfiguration, model: ModelContext) {
        self.init(
            model: model, sealer: configuration.security.biometricSealer,
            maxPhotoBytes: configuration.limits.image.maxBytes,
            pins: PINHashing(bcryptCost: configuration.security.bcryptCost))
    }
}
