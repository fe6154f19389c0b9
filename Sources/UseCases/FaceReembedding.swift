import FaceEngine
import Foundation
import ImageDecoding
import Storage

/// `facegate faces reembed`: gives every enrolled photo a face of another model from its sealed crop, so that the
/// service can move to that model without members registering again. Walks the faces that have a crop and whose photo
/// has no face of the target model yet, in face id order and in batches embedded on every engine at once; each new
/// face copies the photo's box, thumbnail and crop (sealed for the same member and photo, so they open as they are).
/// Resumable: an interrupted run starts again where the work is left. The service keeps matching with its own model's
/// faces meanwhile (searches never mix models); once done, activating the target (`ModelActivationStore`, the
/// command's `--activate`) switches every instance to it. Photos enrolled before crops were kept cannot be embedded:
/// `membersToReregister`.
public struct FaceReembedding: Sendable {
    public struct Outcome: Sendable, Equatable {
        /// New faces stored.
        public var reembedded = 0
        /// The target model finds no face where the enrolled one is in the crop (its detector differs, or only a
        /// neighbour is found): left for staff; tried again on the next run.
        public var noFace = 0
        /// The crop does not open (unknown key, damaged) or cannot be decoded or embedded: left as it is.
        public var unreadable = 0
        /// Stored meanwhile by someone else (another run, a new enrolment of the same photo).
        public var alreadyThere = 0
        /// Photos to embed when the run began.
        public var total = 0

        /// Photos dealt with so far, whatever became of them.
        public var finished: Int { reembedded + noFace + unreadable + alreadyThere }

        /// Adds a later pass's counts (not its total).
        public static func += (outcome: inout Outcome, later: Outcome) {
            outcome.reembedded += later.reembedded
            outcome.noFace += later.noFace
            outcome.unreadable += later.unreadable
            outcome.alreadyThere += later.alreadyThere
        }
    }

    let sealer: BiometricSealer
    let faces: FaceStore
    let engines: EnginePool
    let batch: Int

    public init(sealer: BiometricSealer, faces: FaceStore, engines: EnginePool, batch: Int = 64) {
        self.sealer = sealer
        self.faces = faces
        self.engines = engines
        self.batch = max(1, batch)
    }

    /// The model and version the new faces are made by.
    public var target: EmbeddingSpace { engines.descriptor.space }

    /// `skipped` hears of each face whose crop could not be embedded (its id and why), `progress` of each batch.
    public func run(
        skipped: @escaping @Sendable (UUID, String) -> Void = { _, _ in }, progress: (Outcome) -> Void = { _ in }
    ) async throws -> Outcome {
        var outcome = Outcome(total: try await faces.countToReembed(into: target))
        var after: UUID?
        while true {
            let page = try await faces.facesToReembed(into: target, after: after, limit: batch)
            guard let last = page.last else { return outcome }
            let results = try await withThrowingTaskGroup(of: Result.self) { group in
                for source in page { group.addTask { try await self.reembed(source) } }
                var results: [Result] = []
                for try await result in group { results.append(result) }
                return results
            }
            for result in results {
                switch result {
                case .stored: outcome.reembedded += 1
                case .alreadyThere: outcome.alreadyThere += 1
                case .noFace(let face):
                    outcome.noFace += 1
                    skipped(face, "the target model finds no face in its crop")
                case .unreadable(let face, let why):
                    outcome.unreadable += 1
                    skipped(face, why)
                }
            }
            after = last.face
            progress(outcome)
        }
    }

    /// What `activate` did.
    public struct Activation: Sendable, Equatable {
        public var activated: Bool
        /// Photos without a face of the target model (none found in the crop, unreadable, or enrolled before crops
        /// were kept): their members would not be recognised after the switch.
        public var photosWithoutFace: Int
        /// The pass after the switch, over the photos enrolled with the previous model meanwhile.
        public var caughtUp = Outcome()
    }

    /// Makes the target the model every instance matches and enrols with, after a full `run` (`outcome`): refused
    /// (unless `force`) while photos have no face of it; then embeds the photos enrolled with the previous model
    /// between the run and the switch (the switch waits for enrolments in progress and refuses later ones of another
    /// model, so this pass misses none).
    /// `toReregister`: `FaceStore.membersToReregister(for: target)` after the run.
    public func activate(
        after outcome: Outcome, toReregister: [FaceStore.MemberToReregister], activations: ModelActivationStore,
        force: Bool, skipped: @escaping @Sendable (UUID, String) -> Void = { _, _ in }
    ) async throws -> Activation {
        let missing = outcome.noFace + outcome.unreadable + toReregister.reduce(0) { $0 + $1.photos }
        guard missing == 0 || force else { return Activation(activated: false, photosWithoutFace: missing) }
        try await activations.activate(target)
        return Activation(activated: true, photosWithoutFace: missing, caughtUp: try await run(skipped: skipped))
    }

    enum Result: Sendable {
        case stored, alreadyThere, noFace(UUID), unreadable(UUID, String)
    }

    private func reembed(_ source: FaceStore.ReembedSource) async throws -> Result {
        let owner = BiometricSealer.Owner(
            organization: source.organization, member: source.member, photoDigest: source.photoDigest.bytes)
        guard let png = try? sealer.open(source.crop, keyID: source.cropKeyID, for: owner, as: .crop) else {
            return .unreadable(source.face, "its crop does not open")
        }
        // The engines wait in line: a batch keeps them all busy without flooding the queue. Of the faces the target
        // model finds in the crop, the one where the enrolled face is (a neighbour in the margin is not this member).
        let expected = source.box.map { FaceBox(x: $0[0], y: $0[1], width: $0[2], height: $0[3]) }
        let found: FaceEncoding?
        do {
            found = try await engines.run { engine in
                let crop = try ImageDecoder().decode(png)
                let faces = try engine.faceEncodings(in: crop)
                guard let expected = expected?.inCrop(crop) else { return faces.first }
                return faces.filter { $0.turn == .up }.max {
                    $0.face.box.overlap(with: expected) < $1.face.box.overlap(with: expected)
                }
                .flatMap { $0.face.box.overlap(with: expected) >= 0.3 ? $0 : nil }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .unreadable(source.face, "its crop cannot be embedded: \(error)")
        }
        guard let face = found else { return .noFace(source.face) }
        do {
            let stored = try await faces.insert(
                NewFace(
                    organizationID: source.organization, memberID: source.member, embedding: face.embedding,
                    model: target.model, modelVersion: target.version, quality: face.quality.measures, box: source.box,
                    photoDigest: source.photoDigest, sealedThumbnail: source.thumbnail,
                    thumbnailKeyID: source.thumbnailKeyID,
                    sealedCrop: source.crop, cropKeyID: source.cropKeyID), copying: source.face)
            // Deleted by staff meanwhile: the photo stays deleted.
            return stored == nil ? .alreadyThere : .stored
        } catch StorageError.duplicateFace {
            return .alreadyThere
        } catch StorageError.memberNotFound {
            // Erased meanwhile: nothing to give a face to.
            return .alreadyThere
        }
    }
}
