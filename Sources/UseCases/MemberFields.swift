import Foundation
import Storage

/// A member's fields as staff give them — the body of `POST`/`PATCH /members`, a row of `facegate import members` —
/// checked by one set of rules (nil: not given).
public struct MemberFields: Sendable, Equatable {
    public var name: String?
    public var externalID: String?
    public var email: String?
    /// JSON text; must be an object.
    public var metadata: String?
    /// `active`, `paused` or `cancelled` (`MembershipStatus`).
    public var status: String?
    /// The membership's last day, `YYYY-MM-DD`.
    public var validUntil: String?

    public init(
        name: String? = nil, externalID: String? = nil, email: String? = nil, metadata: String? = nil,
        status: String? = nil, validUntil: String? = nil
    ) {
        self.name = name
        self.externalID = externalID
        self.email = email
        self.metadata = metadata
        self.status = status
        self.validUntil = validUntil
    }

    /// Text as staff type it into a form or a spreadsheet cell, the way it is checked and stored: without the spaces
    /// around it (the name, the email, the status and the date; an external id is kept exactly as given). The API's
    /// bodies and the import's rows both go through it.
    public static func trimmed(_ text: String?) -> String? { text?.trimmingCharacters(in: .whitespaces) }

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
        if let status, MembershipStatus(rawValue: status) == nil {
            throw .invalidField("status", "active, paused or cancelled")
        }
        if let validUntil, !Self.isCalendarDate(validUntil) {
            throw .invalidField("valid_until", "a date, YYYY-MM-DD (the membership's last day)")
        }
    }

    /// Whether `text` is a real day written `YYYY-MM-DD` (years 1900 to 9999, as a membership's would be).
    static func isCalendarDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts.map(\.count) == [4, 2, 2],
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1900...9999).contains(year), (1...12).contains(month), day >= 1
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: DateComponents(year: year, month: month, day: 1))!
        return day <= calendar.range(of: .day, in: .month, for: date)!.count
    }
}

/// A member's PIN: 4 to 8 ASCII digits, asked for when the face alone is not sure (stored only as a slow hash).
public enum PIN {
    public static let rule = "4 to 8 digits"

    public static func isWellFormed(_ pin: String) -> Bool {
        (4...8).contains(pin.utf8.count) && pin.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
