import Foundation
import Hummingbird
import Storage

/// A path parameter that must be a UUID; anything else is a 404 (an id that cannot exist).
func uuidParameter(_ name: String, of context: AppRequestContext, what: String) throws -> UUID {
    guard let raw = context.parameters.get(name), let id = UUID(uuidString: raw) else { throw Problem.notFound(what) }
    return id
}

/// A whole-number query parameter within `range` (`fallback` when absent); anything else is a 400.
func integerParameter(_ name: String, of request: Request, default fallback: Int, in range: ClosedRange<Int>) throws
    -> Int
{
    guard let raw = request.uri.queryParameters.get(name) else { return fallback }
    guard let value = Int(raw), range.contains(value) else {
        throw Problem.invalidField(name, "a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
}

/// The opaque `cursor` of keyset paging: the sort position and id of the last item of the previous page.
enum PageCursor {
    static func encode(position: String, id: UUID) -> String {
        Data((id.uuidString + ":" + position).utf8).base64URLEncodedString
    }

    static func decode(_ raw: String) throws -> (position: String, id: UUID) {
        guard let data = Data(base64URLEncoded: raw), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":"), let id = UUID(uuidString: String(text[..<colon]))
        else {
            throw Problem.invalidField("cursor", "a next_cursor value from a previous page")
        }
        return (String(text[text.index(after: colon)...]), id)
    }
}

extension MemberStore {
    /// The member of the organisation, or a 404 problem.
    func existing(_ id: UUID, organization: UUID) async throws -> Member {
        guard let member = try await find(id, organization: organization) else { throw Problem.notFound("member") }
        return member
    }
}

extension Request {
    /// The JSON body as `type`. Anything that is not that JSON (malformed, nested too deep, a wrong type, a missing
    /// field) is a 400 `invalid_json` saying what was wrong.
    func decodeJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T {
        do {
            return try await decode(as: type, context: context)
        } catch let error as HTTPError where error.status == .badRequest {
            throw Problem(.invalidJSON, detail: error.body ?? "the body is not the JSON this endpoint expects")
        }
    }
}
