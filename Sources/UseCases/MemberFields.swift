import Foundation

/// A member's fields as staff give them — the body of `POST`/`PATCH /members`, a row of `facegate import members` —
/// checked by one set of rules (nil: not given).
public struct MemberFields: Sendable, Equatable {
    public var name: String?
    public var externalID: String?
    public var email: String?
    /// JSON text; must be an object.
    public var metadata: String?

    public init(name: String? = nil, externalID: String? = nil, email: String? = nil, metadata: String? = nil) {
        self.name = name
        self.externalID = externalID
        self.email = email
        self.metadata = metadata
    }

    /// The first field that breaks its rule, as `UseCaseError.invalidField` (the API's 400 `invalid_field`); a new
    /// member (`requireName`) needs a name. The rules are the database's checks, so that nothing valid here fails
    /// there.
    public func validate(requireName: Bool) throws(UseCaseError) {
        if requireName && name == nil { throw .invalidField("name", "required") }
        // Counted as the database counts (`length`: code points), not as Swift does (grapheme clusters).
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty || name.unicodeScalars.count > 200 {
            throw .invalidField("name", "1 to 200 characters")
        }
        if let externalID, !(1...200).contains(externalID.unicodeScalars.count) {
            throw .invalidField("external_id", "1 to 200 characters")
        }
        if let email, !(3...320).contains(email.unicodeScalars.count) || !email.contains("@") {
            throw .invalidField("email", "an email address")
        }
        if let metadata {
            guard (try? JSONSerialization.jsonObject(with: Data(metadata.utf8))) is [String: Any] else {
                throw .invalidField("metadata", "a JSON object")
            }
            if metadata.utf8.count > 16_384 { throw .invalidField("metadata", "at most 16 KiB") }
        }
    }
}
