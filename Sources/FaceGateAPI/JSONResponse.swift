import Foundation
import Hummingbird

/// JSON encoding with one convention for the whole API: snake_case keys, ISO-8601 dates.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(
        _ value: some Encodable, status: HTTPResponse.Status, contentType: String = "application/json"
    ) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: contentType],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

// UUIDs leave the service in lowercase (RFC 9562 §4: generated lowercase, compared in any case); Foundation writes them
// uppercase. The Encodable conformances synthesized in this module pick these overloads over the generic ones, so
// every id of every response is written this way; ids are read in any case (`UUID(uuidString:)`).
extension KeyedEncodingContainer {
    mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        try encodeIfPresent(value?.uuidString.lowercased(), forKey: key)
    }
}
