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
    /// LISTEN is active (carried over to a gallery that replaces the one in use).
    private let listening = Atomic<Bool>(false)
    /// Looks for a model switch that failed in a row (the first is expected while a first start migrates).
    private let followFailures = Atomic<Int>(0)

    public convenience init(
        gallery: FaceGallery, client: PostgresClient, checkInterval: Duration = .seconds(60), logger: Logger
    ) {
        self.init(source: FixedGallery(gallery: gallery), client: client, checkInterval: checkInterval, logger: logger)
    }

    /// Follows `source`'s gallery, which may be replaced while the service runs (a face model switch).
    public init(source: any ActiveGallery, client: PostgresClient, checkInterval: Duration = .seconds(60), logger: Logger) {
        self.source = source
        self.client = client
        self.checkInterval = checkInterval
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: Event.self)
        (switchRequests, switchSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
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
        let indexed = gallery.search.keepsIndex
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
                    for await _ in self.switchRequests { await self.followModelActivation() }
                }
                var suspects = Set<UUID>()
                for await event in events {
                    if Task.isCancelled { break }
                    if indexed {
                        await handle(event, suspects: &suspects)
                    } else {
                        handleWithoutIndex(event)
                    }
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
        do {
            try await source.followModelActivation()
            followFailures.store(0, ordering: .relaxed)
        } catch {
            let failures = followFailures.add(1, ordering: .relaxed).newValue
            logger.log(level: failures > 1 ? .warning : .info, "gallery: could not follow the activated face model",
                       metadata: ["error": "\(String(reflecting: error))"])
        }
        if ObjectIdentifier(gallery) != before {
            let listening = listening.load(ordering: .acquiring)
            gallery.updateSync { $0.listening = listening }
            sink.yield(.checkNow)
        }
    }

    /// The pgvector backends: only LISTEN's state and model switches matter.
    private func handleWithoutIndex(_ event: Event) {
        switch event {
        case .listening:
            setListening(true)
            switchSink.yield(())
        case .disconnected:
            setListening(false)
        case .notification(let payload):
            if FaceChange(payload: payload) == .modelActivated { switchSink.yield(()) }
        case .check, .checkNow:
            switchSink.yield(())
        }
    }

    private func setListening(_ value: Bool) {
        listening.store(value, ordering: .releasing)
        gallery.updateSync { $0.listening = value }
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

    private func handle(_ event: Event, suspects: inout Set<UUID>) async {
        do {
            switch event {
            case .listening:
                setListening(true)
                // An activation announced while LISTEN was down is only in the database.
                switchSink.yield(())
                if gallery.isLoaded {
                    // Notifications sent while LISTEN was down are lost: compare everything now.
                    suspects = try await check(suspects: [], reloadAtOnce: true)
                } else {
                    try await gallery.reload()
                }
            case .disconnected:
                setListening(false)
            case .notification(let payload):
                try await apply(payload)
            case .check, .checkNow:
                switchSink.yield(())
                guard gallery.isLoaded else {
                    try await gallery.reload()
                    return
                }
                suspects = try await check(suspects: suspects, reloadAtOnce: event == .checkNow)
                if !suspects.isEmpty {
                    // Most differences are writes in flight; look again shortly rather than a whole interval later.
                    later(.check, after: .seconds(2))
                }
            }
        } catch {
            if gallery.isLoaded {
                logger.warning("gallery sync step failed", metadata: ["error": "\(String(reflecting: error))"])
            } else if case StorageError.unknownTemplateKey = error {
                // Not a passing state: the instance lacks the key its faces are stored under (a restart fixes it).
                logger.error("gallery cannot be loaded; retrying in 10 s", metadata: ["error": "\(error)"])
                later(.check, after: .seconds(10))
            } else {
                // Expected at a first start: the schema may still be migrating, the database starting.
                logger.info("gallery not loaded yet; retrying in 1 s", metadata: ["error": "\(error)"])
                later(.check, after: .seconds(1))
            }
        }
    }

    private func later(_ event: Event, after delay: Duration) {
        Task { [sink] in
            try? await Task.sleep(for: delay)
            sink.yield(event)
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

    /// Compares every organisation's count and checksum with the database. Organisations that differ now and
    /// differed at the previous check (`suspects`) — or at once, with `reloadAtOnce` — are reloaded; the others
    /// that differ are returned to be looked at again next time.
    func check(suspects: Set<UUID>, reloadAtOnce: Bool) async throws -> Set<UUID> {
        let database = try await gallery.store.summaries()
        let memory = gallery.summaries()
        let spaces = try await gallery.store.countsBySpace()
        let differing = Set(database.keys).union(memory.keys).filter { database[$0] != memory[$0] }
        gallery.updateSync {
            $0.lastCheck = Date()
            $0.lastCheckMismatches = differing.count
            $0.facesByModel = spaces
        }
        let confirmed = reloadAtOnce ? differing : differing.intersection(suspects)
        for organization in confirmed {
            logger.warning("gallery differs from the database; reloading", metadata: [
                "organization": "\(organization)",
                "database": "\(database[organization] ?? FaceSummary())", "memory": "\(memory[organization] ?? FaceSummary())",
            ])
            try await gallery.reload(organization: organization)
        }
        return differing.subtracting(confirmed)
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
