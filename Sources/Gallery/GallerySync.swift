import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import Synchronization

/// Keeps a `FaceGallery`'s in-memory index equal to the database, as a long-running service:
/// LISTENs on `FaceChange.channel` and applies every other instance's writes (and its own, idempotently); loads
/// everything when LISTEN is first established and checks counts and checksums whenever it is re-established
/// (notifications sent while it was down are lost) and every `checkInterval`; an organisation found different
/// twice in a row (not just a write in flight) is reloaded. Events are handled one at a time, in order.
public final class GallerySync: Service, Sendable {
    let source: any ActiveGallery
    /// The gallery searches use now.
    var gallery: FaceGallery { source.gallery }
    let client: PostgresClient
    let checkInterval: Duration
    let logger: Logger
    private let events: AsyncStream<Event>
    private let sink: AsyncStream<Event>.Continuation
    /// Requests to look for a face model switch, handled beside the events (a switch loads a whole gallery, during
    /// which the galleries keep receiving changes); one pending request stands for many.
    private let switchRequests: AsyncStream<Void>
    private let switchSink: AsyncStream<Void>.Continuation
    /// Follow-up checks asked for by the decisions (a difference to look at again, a load to retry); the timer that
    /// waits them out is one of `run()`'s tasks. One pending request stands for many.
    private let followUps: AsyncStream<Duration>
    private let followUpSink: AsyncStream<Duration>.Continuation
    /// What to do on each event (`GallerySyncStateMachine`): LISTEN's state, the suspects, failed switch looks.
    private let state: Mutex<GallerySyncStateMachine>

    public convenience init(
        gallery: FaceGallery, client: PostgresClient, checkInterval: Duration = .seconds(60), logger: Logger
    ) {
        self.init(source: FixedGallery(gallery: gallery), client: client, checkInterval: checkInterval, logger: logger)
    }

    /// Follows `source`'s gallery, which may be replaced while the service runs (a face model switch).
    public init(
        source: any ActiveGallery, client: PostgresClient, checkInterval: Duration = .seconds(60), logger: Logger
    ) {
        self.source = source
        self.client = client
        self.checkInterval = checkInterval
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: Event.self)
        (switchRequests, switchSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (followUps, followUpSink) = AsyncStream.makeStream(of: Duration.self, bufferingPolicy: .bufferingNewest(1))
        state = Mutex(GallerySyncStateMachine(indexed: source.gallery.search.index != nil))
    }

    enum Event: Sendable, Equatable {
        case listening
        case disconnected
        case notification(String)
        /// Periodic (or a follow-up of a check that found differences): reload what differed twice running.
        case check
        /// Asked for (`requestCheck`): reload whatever differs.
        case checkNow
    }

    /// Compares the index with the database soon and reloads the organisations that differ.
    public func requestCheck() { sink.yield(.checkNow) }

    /// Follows the database until the service shuts down. The pgvector backends keep no index, but they too follow
    /// face model switches (announced, and looked for at every check).
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.checkInterval)
                        self.sink.yield(.check)
                    }
                }
                group.addTask {
                    for await delay in self.followUps {
                        try? await Task.sleep(for: delay)
                        self.sink.yield(.check)
                    }
                }
                group.addTask {
                    for await _ in self.switchRequests { await self.followModelActivation() }
                }
                for await event in events {
                    if Task.isCancelled { break }
                    await handle(event)
                }
                group.cancelAll()
            }
        }
    }

    /// Switches to the face model activated in the database, if another (`ActiveGallery`); the gallery that then
    /// searches carries on with this sync's LISTEN state and is compared with the database at once (a reload
    /// announced while it loaded). A failure (the database away, the schema still migrating at a first start, the
    /// model's files missing) is logged; the next check tries again.
    public func followModelActivation() async {
        let before = ObjectIdentifier(gallery)
        var failure: (any Error)?
        do { try await source.followModelActivation() } catch { failure = error }
        let worthAWarning = state.withLock { $0.followedModelActivation(failed: failure != nil) }
        if let failure {
            logger.log(
                level: worthAWarning ? .warning : .info, "gallery: could not follow the activated face model",
                metadata: ["error": "\(String(reflecting: failure))"])
        }
        if ObjectIdentifier(gallery) != before {
            let listening = state.withLock { $0.listening }
            gallery.updateSync { $0.listening = listening }
            sink.yield(.checkNow)
        }
    }

    /// LISTEN on one pooled connection for as long as it lives; on failure wait and LISTEN again.
    private func listen() async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: FaceChange.channel) { notifications in
                        sink.yield(.listening)
                        delay = .milliseconds(250)
                        for try await notification in notifications { sink.yield(.notification(notification.payload)) }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("gallery: LISTEN lost; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            sink.yield(.disconnected)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// One event: the state machine decides, this does the work and reports back.
    private func handle(_ event: Event) async {
        let loaded = gallery.isLoaded
        let (step, listening) = state.withLock { machine in
            let step =
                switch event {
                case .listening: machine.listenEstablished(loaded: loaded)
                case .disconnected: machine.listenLost()
                case .notification(let payload):
                    machine.notification(payload, announcesModelSwitch: FaceChange(payload: payload) == .modelActivated)
                case .check: machine.checkDue(requested: false, loaded: loaded)
                case .checkNow: machine.checkDue(requested: true, loaded: loaded)
                }
            return (step, machine.listening)
        }
        if step.listeningChanged { gallery.updateSync { $0.listening = listening } }
        if step.lookForModelSwitch { switchSink.yield(()) }
        guard let action = step.action else { return }
        do {
            switch action {
            case .loadAll: try await gallery.reload()
            case .compare(let reloadAtOnce): try await compare(reloadAtOnce: reloadAtOnce)
            case .apply(let payload): try await apply(payload)
            }
        } catch {
            let unknownKey = if case StorageError.unknownTemplateKey = error { true } else { false }
            let loaded = gallery.isLoaded
            let retry = state.withLock { $0.failed(unknownKey ? .unknownTemplateKey : .other, loaded: loaded) }
            if loaded {
                logger.warning("gallery sync step failed", metadata: ["error": "\(String(reflecting: error))"])
            } else if unknownKey {
                // Not a passing state: the instance lacks the key its faces are stored under (a restart fixes it).
                logger.error("gallery cannot be loaded; retrying in 10 s", metadata: ["error": "\(error)"])
            } else {
                // Expected at a first start: the schema may still be migrating, the database starting.
                logger.info("gallery not loaded yet; retrying in 1 s", metadata: ["error": "\(error)"])
            }
            if let retry { followUpSink.yield(retry) }
        }
    }

    private func apply(_ payload: String) async throws {
        guard let change = FaceChange(payload: payload) else {
            logger.warning("gallery: unknown notification", metadata: ["payload": "\(payload.prefix(200))"])
            return
        }
        // The gallery in use and one being loaded for a model switch: neither may miss a change.
        for gallery in source.galleriesFollowingChanges {
            switch change {
            case .added(let ref, let organization):
                // The row may be gone again already (then the remove notification follows and nothing is added), or
                // of another model than this gallery's (then it is not this gallery's).
                if let embedding = try await gallery.noticingUnknownTemplateKeys({
                    try await gallery.store.embeddings(of: [ref.face])[ref.face]
                }) {
                    gallery.apply(.add(ref, organization: organization, embedding: embedding))
                }
            case .removed(let ref, let organization):
                gallery.apply(.remove(ref, organization: organization))
            case .reload(let organization):
                // One being loaded replays what it heard onto a full load: nothing to do for it.
                if gallery.isLoaded { try await gallery.reload(organization: organization) }
            case .reloadAll:
                if gallery.isLoaded { try await gallery.reload() }
            case .modelActivated:
                break
            }
        }
        if change == .modelActivated { switchSink.yield(()) }
    }

    /// Compares every organisation's count and checksum with the database; reloads those the state machine confirms
    /// (different now and at the previous comparison, or all with `reloadAtOnce`) and asks for a follow-up when others
    /// differ once.
    func compare(reloadAtOnce: Bool) async throws {
        let database = try await gallery.store.summaries()
        let memory = gallery.summaries()
        let spaces = try await gallery.store.countsBySpace()
        let differing = Set(database.keys).union(memory.keys).filter { database[$0] != memory[$0] }
        gallery.updateSync {
            $0.lastCheck = Date()
            $0.lastCheckMismatches = differing.count
            $0.facesByModel = spaces
        }
        let (confirmed, again) = state.withLock { $0.compared(differing: differing, reloadAtOnce: reloadAtOnce) }
        for organization in confirmed {
            logger.warning(
                "gallery differs from the database; reloading",
                metadata: [
                    "organization": "\(organization)",
                    "database": "\(database[organization] ?? FaceSummary())",
                    "memory": "\(memory[organization] ?? FaceSummary())",
                ])
            try await gallery.reload(organization: organization)
        }
        if let again { followUpSink.yield(again) }
    }
}

/// The gallery a `GallerySync` keeps equal to the database. A service whose face model can change while it runs
/// (`ActiveFaceModel`) replaces it: it loads the new model's gallery first (listed in `galleriesFollowingChanges`
/// meanwhile, so that no change is missed) and then swaps.
public protocol ActiveGallery: Sendable {
    /// The gallery searches use now.
    var gallery: FaceGallery { get }
    /// The galleries changes announced by the database are applied to: `gallery`, and one being loaded for a switch.
    var galleriesFollowingChanges: [FaceGallery] { get }
    /// Switches to the face model activated in the database, when it differs from the current one.
    func followModelActivation() async throws
}

/// One gallery for the service's lifetime.
public struct FixedGallery: ActiveGallery {
    public let gallery: FaceGallery
    public init(gallery: FaceGallery) { self.gallery = gallery }
    public var galleriesFollowingChanges: [FaceGallery] { [gallery] }
    public func followModelActivation() async throws {}
}
