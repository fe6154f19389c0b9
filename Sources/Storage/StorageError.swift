/// Errors of the storage layer that callers act on; postgres-nio's own errors pass through unchanged.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    case schemaNewerThanCode(database: Int, code: Int)
    case missingSuperAdminCredentials
    case timedOut(String)
    /// The connection closed under a statement that postgres-nio never completed (`Database.watched`).
    case connectionLost
    /// The member does not exist in that organisation.
    case memberNotFound
    /// The same photo is already one of the member's faces.
    case duplicateFace
    /// Another member of the organisation already has this external id.
    case duplicateExternalID
    /// Another member of the organisation already has this email.
    case duplicateEmail
    /// Another account already has this username.
    case duplicateUsername
    /// Another account of the organisation already has this email.
    case duplicateAccountEmail
    /// Another organisation already has this name.
    case duplicateOrganization
    case organizationNotFound
    /// The `faces.embedding` column is not as wide as the model's embeddings.
    case embeddingWidthMismatch(column: Int, model: Int)
    /// A statement that always returns a row returned none (a bug, not a user error).
    case noRowReturned
    /// Another face model has been activated (`facegate faces reembed --activate`) and this instance has not switched
    /// to it yet: a face of its model would not be searched by the others.
    case modelNotActive
    /// A face's template is stored under a key this service does not have (`BIOMETRIC_ENCRYPTION_KEY`,
    /// `BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS`).
    case unknownTemplateKey(String)

    public var description: String {
        switch self {
        case .schemaNewerThanCode(let database, let code):
            "the database schema is at version \(database) but this build only knows up to \(code); upgrade facegate"
        case .missingSuperAdminCredentials:
            "no super admin exists yet: set SUPER_ADMIN_USERNAME and SUPER_ADMIN_PASSWORD for the first start"
        case .timedOut(let what):
            "\(what) timed out"
        case .connectionLost:
            "the database connection closed under a statement"
        case .memberNotFound:
            "no such member in this organisation"
        case .duplicateFace:
            "this photo is already enrolled for this member"
        case .duplicateExternalID:
            "another member of this organisation has this external id"
        case .duplicateEmail:
            "another member of this organisation has this email"
        case .duplicateUsername:
            // The same words wherever the account is: they must not tell another organisation's from one's own.
            "this username is not available; choose another (usernames are unique across the service)"
        case .duplicateAccountEmail:
            "another account of this organisation has this email"
        case .duplicateOrganization:
            "another organisation already has this name"
        case .organizationNotFound:
            "no such organisation"
        case .embeddingWidthMismatch(let column, let model):
            "faces.embedding holds \(column)-dimensional vectors but the face model makes \(model)-dimensional ones"
        case .noRowReturned:
            "the database returned no row where one was expected"
        case .modelNotActive:
            "the service is switching to another face model; enrol again in a few seconds"
        case .unknownTemplateKey(let id):
            "a face template is stored under key \(id), which this service does not have: give it that key in BIOMETRIC_ENCRYPTION_KEY or BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS"
        }
    }
}
