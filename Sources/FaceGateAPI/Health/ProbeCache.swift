import Storage
import Synchronization

/// The last database probe of `/ready`, reused for `maxAge`: however often load balancers and attackers ask, the
/// database is probed at most about once per `maxAge`.
final class ProbeCache: Sendable {
    /// A probe's outcome: the status, or why the database was unreachable (for the log).
    enum Outcome: Sendable {
        case reached(DatabaseStatus)
        case unreachable(String)
    }

    private let maxAge: Duration
    private let last = Mutex<(at: ContinuousClock.Instant, outcome: Outcome)?>(nil)

    init(maxAge: Duration) { self.maxAge = maxAge }

    /// The cached outcome while it is younger than `maxAge`, else a new one from `probe`, dated when the probe
    /// ended (a probe that waited out an unreachable database is fresh when it answers, not stale already).
    func outcome(now: ContinuousClock.Instant = .now, _ probe: () async -> Outcome) async -> Outcome {
        if let cached = last.withLock({ $0 }), now - cached.at < maxAge { return cached.outcome }
        let started = ContinuousClock.now
        let fresh = await probe()
        let finished = now + (ContinuousClock.now - started)
        last.withLock { $0 = (finished, fresh) }
        return fresh
    }
}
