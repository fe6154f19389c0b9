import Foundation
import Storage
import UseCases

/// `facegate keys rotate`: re-seals every thumbnail and face crop not yet under `BIOMETRIC_ENCRYPTION_KEY`, opening it with the key
/// it names (one of `BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS`) and binding it to its face, and stores every face template
/// not yet under it (plain ones included) under its rotation (`TemplateKeys`); first it keys every photo digest still
/// stored as the photo's plain SHA-256, sealing that face's blobs again for it. Walks the faces in id order in batches,
/// each thumbnail written on its own and each batch of templates in one statement, so an interrupted run simply starts
/// again where the work is left; a blob or template under a key the service does not have is counted and left as it
/// is. Running instances need no restart: their searches compare under each key present while the walk goes on.
public struct BiometricKeyRotation: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var resealed = 0
        /// Templates stored again under the current key.
        public var rekeyed = 0
        /// Plain photo digests (SHA-256) stored keyed under the current key.
        public var keyedDigests = 0
        public var unreadable = 0
        public var total = 0
        /// Readable blobs and templates still not under the current key after the walk: stored under an old key
        /// behind it meanwhile (an instance or an import still on the old key); run the rotation again.
        public var left = 0

        public var finished: Int { resealed + rekeyed + keyedDigests + unreadable }
    }

    let sealer: BiometricSealer
    let faces: FaceStore
    let batch: Int

    /// `faces` stores templates under the configuration's keys.
    public init(configuration: AppConfiguration, faces: FaceStore, batch: Int = 200) {
        sealer = configuration.security.biometricSealer
        self.faces = faces
        self.batch = batch
    }

    /// The id of the key thumbnails are re-sealed under.
    public var currentKeyID: String { sealer.currentID }

    /// `unreadable` hears of each thumbnail, crop or template that cannot be re-keyed (its face id), `progress` of
    /// each batch.
    public func run(unreadable: (UUID) -> Void = { _ in }, progress: (Outcome) -> Void = { _ in }) async throws
        -> Outcome
    {
        var outcome = Outcome()
        outcome.total = try await notUnderCurrentKey()
        try await keyPhotoDigests(outcome: &outcome, unreadable: unreadable, progress: progress)
        for column in FaceStore.SealedColumn.allCases {
            try await reseal(column, outcome: &outcome, unreadable: unreadable, progress: progress)
        }
        try await rekeyTemplates(outcome: &outcome, unreadable: unreadable, progress: progress)
        outcome.left = try await notUnderCurrentKey() - outcome.unreadable
        return outcome
    }

    private func notUnderCurrentKey() async throws -> Int {
        var count = try await faces.countTemplates(notUnder: faces.templates.currentID)
        count += try await faces.countPlainPhotoDigests()
        for column in FaceStore.SealedColumn.allCases {
            count += try await faces.countSealed(column, notSealedUnder: sealer.currentID)
        }
        return count
    }

    /// Stores every template under the current key, a batch per statement.
    private func rekeyTemplates(
        outcome: inout Outcome, unreadable: (UUID) -> Void, progress: (Outcome) -> Void
    ) async throws {
        var after: UUID?
        let keys = faces.templates.keyIDs
        while true {
            let page = try await faces.templates(notUnder: faces.templates.currentID, after: after, limit: batch)
            guard let last = page.last else { return }
            let readable = page.filter { $0.keyID.map(keys.contains) ?? true }
            for stored in page where !(stored.keyID.map(keys.contains) ?? true) {
                outcome.unreadable += 1
                unreadable(stored.face)
            }
            outcome.rekeyed += try await faces.rekey(readable)
            after = last.face
            progress(outcome)
        }
    }

    /// Keys every plain photo digest, each face's blobs opened for the plain digest and sealed for the keyed one under
    /// the current key in the same statement (a blob that does not open leaves its face's digest plain, counted).
    private func keyPhotoDigests(
        outcome: inout Outcome, unreadable: (UUID) -> Void, progress: (Outcome) -> Void
    ) async throws {
        var after: UUID?
        while true {
            let page = try await faces.plainPhotoDigests(after: after, limit: batch)
            guard let last = page.last else { return }
            for face in page {
                let plain = BiometricSealer.Owner(
                    organization: face.organization, member: face.member, photoDigest: face.photoSHA256)
                let digest = try faces.templates.photoDigest(of: face.photoSHA256, organization: face.organization)
                let keyed = BiometricSealer.Owner(
                    organization: face.organization, member: face.member, photoDigest: digest.bytes)
                func reseal(_ blob: FaceStore.Sealed?, _ column: FaceStore.SealedColumn) throws -> FaceStore.Sealed? {
                    try blob.map {
                        let sealed = try sealer.seal(
                            try sealer.open($0.sealed, keyID: $0.keyID, for: plain, as: column), for: keyed, as: column)
                        return FaceStore.Sealed(sealed: sealed.sealed, keyID: sealed.keyID)
                    }
                }
                let thumbnail: FaceStore.Sealed?, crop: FaceStore.Sealed?
                do {
                    thumbnail = try reseal(face.thumbnail, .thumbnail)
                    crop = try reseal(face.crop, .crop)
                } catch {
                    outcome.unreadable += 1
                    unreadable(face.face)
                    continue
                }
                if try await faces.keyPhotoDigest(of: face, as: digest, thumbnail: thumbnail, crop: crop) {
                    outcome.keyedDigests += 1
                    // Its blobs are under the current key now too.
                    outcome.resealed +=
                        [face.thumbnail, face.crop].filter { $0 != nil && $0?.keyID != sealer.currentID }.count
                }
            }
            after = last.face
            progress(outcome)
        }
    }

    /// Re-seals every blob of one column.
    private func reseal(
        _ column: FaceStore.SealedColumn, outcome: inout Outcome, unreadable: (UUID) -> Void,
        progress: (Outcome) -> Void
    ) async throws {
        var after: UUID?
        while true {
            let page = try await faces.sealed(column, notSealedUnder: sealer.currentID, after: after, limit: batch)
            guard let last = page.last else { return }
            for stored in page {
                let owner = BiometricSealer.Owner(
                    organization: stored.organization, member: stored.member, photoDigest: stored.photoDigest)
                let resealed: (sealed: [UInt8], keyID: String)
                do {
                    resealed = try sealer.seal(
                        try sealer.open(stored.sealed, keyID: stored.keyID, for: owner, as: column), for: owner,
                        as: column)
                } catch {
                    // Under an unknown key, moved from another face or damaged: left as it is, counted, and the walk
                    // goes on (it would stop at the same row on every run otherwise).
                    outcome.unreadable += 1
                    unreadable(stored.face)
                    continue
                }
                try await faces.replaceSealed(column, face: stored.face, sealed: resealed.sealed, keyID: resealed.keyID)
                outcome.resealed += 1
            }
            after = last.face
            progress(outcome)
        }
    }
}
