import Foundation

/// The decisions of `GallerySync`, without I/O or clocks (the shape of postgres-nio's `ListenStateMachine`): each
/// event in, what to do out. `GallerySync` does the database work and feeds the results back; its `run()` owns the
/// timers the actions ask for.
struct GallerySyncStateMachine: Sendable {
    /// Whether the gallery keeps a copy in memory (the pgvector backends do not: only LISTEN's state and model
    /// switches matter to them).
    let indexed: Bool
    /// LISTEN is established.
    private(set) var listening = false
    /// Organisations found different at the last comparison, to be reloaded if they still differ at the next.
    private(set) var suspects = Set<UUID>()
    /// Looks for a face model switch that failed in a row (the first is expected while a first start migrates).
    private(set) var followFailures = 0

    init(indexed: Bool) { self.indexed = indexed }

    enum Action: Equatable, Sendable {
        /// Load every organisation's faces (the gallery is not loaded yet).
        case loadAll
        /// Compare every organisation's count and checksum with the database; answer with `compared`.
        case compare(reloadAtOnce: Bool)
        /// Apply a notification's change to the galleries.
        case apply(String)
    }

    /// What one event asks for: the work to do now, whether to look for a face model switch, whether LISTEN's state
    /// changed (to carry into the gallery's sync status).
    struct Step: Equatable, Sendable {
        var action: Action?
        var lookForModelSwitch = false
        var listeningChanged = false
    }

    mutating func listenEstablished(loaded: Bool) -> Step {
        listening = true
        // An activation announced while LISTEN was down is only in the database; the changes sent meanwhile are lost.
        guard indexed else { return Step(action: nil, lookForModelSwitch: true, listeningChanged: true) }
        return Step(
            action: loaded ? .compare(reloadAtOnce: true) : .loadAll, lookForModelSwitch: true,
            listeningChanged: true)
    }

    mutating func listenLost() -> Step {
        listening = false
        return Step(action: nil, listeningChanged: true)
    }

    /// A NOTIFY payload; `announcesModelSwitch` when it is a model activation.
    func notification(_ payload: String, announcesModelSwitch: Bool) -> Step {
        guard indexed else { return Step(action: nil, lookForModelSwitch: announcesModelSwitch) }
        // `apply` asks for the switch itself after the change (the galleries first).
        return Step(action: .apply(payload))
    }

    /// A check: periodic or a follow-up (`requested` false), or asked for (`requestCheck`, after a model switch).
    func checkDue(requested: Bool, loaded: Bool) -> Step {
        guard indexed else { return Step(action: nil, lookForModelSwitch: true) }
        return Step(action: loaded ? .compare(reloadAtOnce: requested) : .loadAll, lookForModelSwitch: true)
    }

    /// The organisations that differ now. Returns those to reload — the ones that differed at the previous comparison
    /// too, or all with `reloadAtOnce` — and when to look again (most differences are writes in flight: shortly
    /// rather than a whole interval later).
    mutating func compared(differing: Set<UUID>, reloadAtOnce: Bool) -> (reload: Set<UUID>, checkAgainAfter: Duration?)
    {
        let confirmed = reloadAtOnce ? differing : differing.intersection(suspects)
        suspects = differing.subtracting(confirmed)
        return (confirmed, suspects.isEmpty ? nil : .seconds(2))
    }

    enum FailureKind: Sendable { case unknownTemplateKey, other }

    /// A step failed. A loaded gallery carries on (the next check tries again); one not loaded yet is tried again
    /// soon — in a second when the database is starting or the schema migrating, in ten when this instance lacks the
    /// key its faces are stored under (not a passing state: a restart with the key fixes it).
    func failed(_ kind: FailureKind, loaded: Bool) -> Duration? {
        guard !loaded else { return nil }
        return kind == .unknownTemplateKey ? .seconds(10) : .seconds(1)
    }

    /// A look for a model switch ended; whether its failure is worth a warning (not the first in a row).
    mutating func followedModelActivation(failed: Bool) -> Bool {
        followFailures = failed ? followFailures + 1 : 0
        return followFailures > 1
    }
}
