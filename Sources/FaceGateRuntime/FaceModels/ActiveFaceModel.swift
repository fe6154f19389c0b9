import FaceEngine
import Foundation
import Gallery
import Logging
import Storage
import Synchronization

/// The face model this instance matches and enrols with, which an operator may switch while the service runs:
/// `facegate faces reembed --model M --activate` records M in the database (`ModelActivationStore`) and announces it;
/// every instance then loads M's engines and gallery beside the current ones and swaps them in one step
/// (`followModelActivation`, called by `GallerySync` on the announcement, at every check and at start). Requests in
/// flight finish with the model they began with. Before any activation, `FACE_MODEL` decides; after one, the
/// database does (an instance started with another `FACE_MODEL` follows it and says so). An instance that cannot
/// run the activated model keeps its own, which the database no longer lets it enrol with, and says why in `/ready`.
public final class ActiveFaceModel: ActiveGallery {
    private let state: Mutex<State>
    private let activations: ModelActivationStore
    private let make: @Sendable (EngineConfiguration) throws -> FaceModelRuntime
    private let logger: Logger
    /// Switches run one after another (an announcement, a check and the start may ask at once).
    private let switching = Mutex<Task<Void, any Error>?>(nil)

    struct State {
        var current: FaceModelRuntime
        /// The runtime whose gallery is loading for a switch.
        var pending: FaceModelRuntime?
        /// The model activated in the database at the last look, and why this instance does not run it (if so).
        var activated: EmbeddingSpace?
        var notFollowing: String?
    }

    /// What `/ready` says about the switch.
    public struct Activation: Sendable {
        public var activated: EmbeddingSpace?
        public var notFollowing: String?
    }

    public init(
        initial: FaceModelRuntime, activations: ModelActivationStore, logger: Logger,
        make: @escaping @Sendable (EngineConfiguration) throws -> FaceModelRuntime
    ) {
        state = Mutex(State(current: initial))
        self.activations = activations
        self.make = make
        self.logger = logger
    }

    public var current: FaceModelRuntime { state.withLock { $0.current } }
    public var gallery: FaceGallery { current.gallery }
    public var galleriesFollowingChanges: [FaceGallery] {
        state.withLock { state in [state.current.gallery] + (state.pending.map { [$0.gallery] } ?? []) }
    }
    public var activation: Activation {
        state.withLock { Activation(activated: $0.activated, notFollowing: $0.notFollowing) }
    }

    public func followModelActivation() async throws {
        let task = switching.withLock { previous in
            let next = Task { [previous] in
                _ = try? await previous?.value
                try Task.checkCancellation()
                try await self.follow()
            }
            previous = next
            return next
        }
        // A shutdown does not wait for a model and a gallery to load.
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    private func follow() async throws {
        let activated = try await activations.current()
        let current = current
        state.withLock { $0.activated = activated }
        guard let activated, activated != current.space else {
            state.withLock { $0.notFollowing = nil }
            return
        }
        let next: FaceModelRuntime
        do {
            next = try await load(activated, instead: current)
        } catch let refusal as Refusal {
            let first = state.withLock { state in
                defer { state.notFollowing = refusal.reason }
                return state.notFollowing != refusal.reason
            }
            if first {
                logger.error(
                    "not switching to the activated face model; enrolments are refused until this instance runs it",
                    metadata: [
                        "active": "\(current.space)", "activated": "\(activated)", "reason": "\(refusal.reason)",
                    ])
            }
            return
        }
        let clock = ContinuousClock(), started = clock.now
        state.withLock { $0.pending = next }
        do {
            // Changes announced meanwhile reach it too (galleriesFollowingChanges) and are replayed onto the load.
            try await next.gallery.reload()
        } catch {
            state.withLock { $0.pending = nil }
            throw error
        }
        state.withLock { state in
            next.gallery.continueSync(of: state.current.gallery)
            state.current = next
            state.pending = nil
            state.notFollowing = nil
        }
        logger.info(
            "face model switched",
            metadata: [
                "model": "\(activated)",
                "seconds": "\(((clock.now - started) / .seconds(1)).formatted(.number.precision(.fractionLength(2))))",
            ])
    }

    /// The runtime of the model `activated` names, with this instance's settings; `Refusal` when it cannot run it.
    private func load(_ activated: EmbeddingSpace, instead current: FaceModelRuntime) async throws -> FaceModelRuntime {
        guard let target = current.engine.running(activated) else {
            let made = FaceModelKind.allCases.map { current.engine.switched(to: $0).space.description }
            throw Refusal(
                "the activated model \(activated) is not one this build makes (\(made.joined(separator: ", ")))")
        }
        if let problem = target.fixedToleranceProblem { throw Refusal(problem) }
        guard target.descriptor.dimension == current.descriptor.dimension else {
            throw Refusal(
                """
                the activated model makes \(target.descriptor.dimension)-dimensional embeddings, the database stores \
                \(current.descriptor.dimension)
                """)
        }
        logger.info("switching face model", metadata: ["from": "\(current.space)", "to": "\(activated)"])
        // Loading models takes a second or so of blocking work: off the cooperative pool.
        let make = make
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result { () throws(Refusal) in
                        do { return try make(target) } catch { throw Refusal("its model files do not load: \(error)") }
                    })
            }
        }
    }

    private struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
