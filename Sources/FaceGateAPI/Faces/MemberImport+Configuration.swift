import FaceGateRuntime
import Foundation
import Hummingbird
import Storage
import UseCases

extension MemberImport {
    /// An import enrolling with `model` and the service's biometric keys, its photos bounded by `MAX_IMAGE_BYTES`, and
    /// each refusal reported with the code and words the API answers it with (`Problem`); an internal failure with
    /// what went wrong, for the operator.
    public init(configuration: AppConfiguration, model: ModelContext) {
        self.init(model: model, sealer: configuration.biometricSealer, maxPhotoBytes: configuration.imageLimits.maxBytes,
                  pins: PINHashing(bcryptCost: configuration.bcryptCost)) { error in
            let problem = Problem(error)
            let internalFailure = problem.status == .internalServerError
            return Answer(
                code: problem.code,
                detail: internalFailure ? databaseErrorDescription(error, withValues: true) ?? String(describing: error)
                    : problem.detail,
                refused: problem.status.code < 500, transient: problem.status == .serviceUnavailable)
        }
    }
}
