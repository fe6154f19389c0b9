import FaceEngine
import Gallery
import ImageDecoding
import Storage

/// A failure already named by the catalogue, with the words for this case (what the HTTP API answers and the import
/// report writes).
public struct CodedError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let detail: String

    public init(_ code: ErrorCode, _ detail: String? = nil) {
        self.code = code
        self.detail = detail ?? code.text
    }

    public var description: String { detail }
}

extension CodedError {
    /// What `error` is in the catalogue's terms: every domain error maps here, once; anything unknown is
    /// `internal_error` with its default words (the caller logs the error itself).
    public init(describing error: any Error) {
        switch error {
        case let error as CodedError:
            self = error
        case let error as UseCaseError:
            self.init(Self.code(of: error), error.description)
        case let error as ImageDecodingError:
            self.init(Self.code(of: error), error.description)
        case let error as EnrolmentRejection:
            self.init(Self.code(of: error), error.description)
        case let error as StorageError:
            switch error {
            case .timedOut, .connectionLost, .unknownTemplateKey, .schemaNewerThanCode, .missingSuperAdminCredentials,
                .embeddingWidthMismatch, .noRowReturned:
                // The database's or the keys' own words are for the log, not for the answer.
                self.init(Self.code(of: error))
            default:
                self.init(Self.code(of: error), error.description)
            }
        case FaceEngineError.overloaded:
            self.init(.overloaded)
        case GalleryError.notReady:
            self.init(.galleryLoading)
        default:
            switch DatabaseFailure(error) {
            case .outage: self.init(.databaseUnavailable)
            case .invalidValue: self.init(.invalidValue)
            case nil: self.init(.internalError)
            }
        }
    }

    static func code(of error: UseCaseError) -> ErrorCode {
        switch error {
        case .noFace: .noFace
        case .noMatch: .noMatch
        case .faceBelongsToOtherMember: .faceBelongsToOtherMember
        case .noFacesEnrolled: .noFacesEnrolled
        case .notFound: .notFound
        case .invalidField: .invalidField
        case .challengeInvalid: .challengeInvalid
        case .livenessUnavailable: .livenessUnavailable
        }
    }

    static func code(of error: ImageDecodingError) -> ErrorCode {
        switch error {
        case .empty: .emptyImage
        case .unsupportedFormat: .unsupportedImageFormat
        case .corrupt: .corruptImage
        case .truncated: .truncatedImage
        case .tooManyBytes: .imageTooLarge
        case .tooManyPixels: .imageTooManyPixels
        }
    }

    static func code(of error: EnrolmentRejection) -> ErrorCode {
        switch error {
        case .noFace: .noFace
        case .multipleFaces: .multipleFaces
        case .faceTooSmall: .faceTooSmall
        case .poseTooFar: .badPose
        case .tooBlurry: .tooBlurry
        }
    }

    static func code(of error: StorageError) -> ErrorCode {
        switch error {
        case .memberNotFound: .memberNotFound
        case .duplicateFace: .duplicateFace
        case .duplicateExternalID: .duplicateExternalID
        case .duplicateEmail, .duplicateAccountEmail: .duplicateEmail
        case .duplicateUsername: .duplicateUsername
        case .duplicateOrganization: .duplicateOrganization
        case .organizationNotFound: .notFound
        case .timedOut, .connectionLost: .databaseUnavailable
        case .modelNotActive: .modelSwitching
        // An instance started without a key the others store templates under: the operator's to fix (logged).
        case .unknownTemplateKey: .templateKeyUnknown
        case .schemaNewerThanCode, .missingSuperAdminCredentials, .embeddingWidthMismatch, .noRowReturned:
            .internalError
        }
    }
}
