import Foundation

// UUIDs leave the service in lowercase (RFC 9562 §4: generated lowercase, compared in any case); Foundation writes them
// uppercase. The Encodable conformances synthesized in the modules that import this one (the HTTP API's answers, the
// member data document) pick these overloads over the generic ones, so every id they write is written this way; ids
// are read in any case (`UUID(uuidString:)`).
extension KeyedEncodingContainer {
    public mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    public mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        try encodeIfPresent(value?.uuidString.lowercased(), forKey: key)
    }
}
