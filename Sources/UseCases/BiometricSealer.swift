import Crypto
import Foundation
import Storage

/// Seals face thumbnails (biometric data) with AES-GCM under `BIOMETRIC_ENCRYPTION_KEY`, each bound to its face —
/// organisation, member and the photo's digest as stored, the row's identity — as associated data, so that a blob copied into
/// another face's row does not open; the key's id is stored beside the blob, so that the key can be rotated
/// (`facegate keys rotate`) while the keys of `BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS` still open what they sealed.
public struct BiometricSealer: Sendable {
    public enum Failure: Error, Equatable {
        /// Sealed under a key this service does not have.
        case unknownKey(String)
        /// AES-GCM gave no combined form (never with its default nonce).
        case sealingFailed
    }

    /// Which face a blob belongs to.
    public struct Owner: Sendable {
        public var organization: UUID
        public var member: UUID
        /// The bytes of the face's photo digest as its row stores them.
        public var photoDigest: [UInt8]

        public init(organization: UUID, member: UUID, photoDigest: [UInt8]) {
            self.organization = organization
            self.member = member
            self.photoDigest = photoDigest
        }

        /// Bound to the face and to what the blob is, so that a crop and a thumbnail cannot stand in for each other.
        func associatedData(_ column: FaceStore.SealedColumn) -> [UInt8] {
            Array(
                "facegate \(column.rawValue) v1|\(organization.uuidString.lowercased())|\(member.uuidString.lowercased())|"
                    .utf8)
                + photoDigest
        }
    }

    let current: SymmetricKey
    public let currentID: String
    private let keys: [String: SymmetricKey]

    public init(key: [UInt8], previousKeys: [[UInt8]] = []) {
        current = SymmetricKey(data: key)
        currentID = Self.id(of: key)
        var keys: [String: SymmetricKey] = [:]
        for old in previousKeys { keys[Self.id(of: old)] = SymmetricKey(data: old) }
        keys[currentID] = current
        self.keys = keys
    }

    /// A key's public name: the first 8 bytes of a hash of it, hex.
    public static func id(of key: [UInt8]) -> String { TemplateKeys.id(of: key) }

    public func seal(
        _ plaintext: [UInt8], for owner: Owner, as column: FaceStore.SealedColumn = .thumbnail
    ) throws -> (sealed: [UInt8], keyID: String) {
        let box = try AES.GCM.seal(plaintext, using: current, authenticating: owner.associatedData(column))
        guard let combined = box.combined else { throw Failure.sealingFailed }
        return ([UInt8](combined), currentID)
    }

    /// Opens a blob sealed under `keyID` for `owner`; a blob from before key ids (nil) was sealed under one of the
    /// keys without associated data.
    public func open(
        _ sealed: [UInt8], keyID: String?, for owner: Owner, as column: FaceStore.SealedColumn = .thumbnail
    ) throws -> [UInt8] {
        let box = try AES.GCM.SealedBox(combined: sealed)
        guard let keyID else {
            // Only thumbnails were sealed before key ids; a crop always has one.
            guard column == .thumbnail else { throw Failure.unknownKey("none") }
            for key in keys.values {
                if let plain = try? AES.GCM.open(box, using: key) { return [UInt8](plain) }
            }
            throw Failure.unknownKey("none (sealed before key ids)")
        }
        guard let key = keys[keyID] else { throw Failure.unknownKey(keyID) }
        return [UInt8](try AES.GCM.open(box, using: key, authenticating: owner.associatedData(column)))
    }
}
