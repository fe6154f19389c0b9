import Foundation
import Logging
import Storage
import UseCases

/// Puts a check-in attempt on the record (`CheckinAttemptStore`) and counts it in
/// `facegate_checkin_attempts_total{method, outcome}`. The outcome is the answer's code (`checked_in`, `repeat`, or
/// the problem's code). Writing the record never changes the answer: a failure to write it is logged, and nothing is
/// written while the database is unavailable (the answer then says so itself).
struct AttemptLog: Sendable {
    let store: CheckinAttemptStore
    let metrics: ServiceMetrics

    /// What is known of an attempt before its outcome.
    struct Attempt: Sendable {
        var organization: UUID
        var account: UUID
        var method: CheckinMethod
        var reason: String?
    }

    func record(
        _ attempt: Attempt, outcome: String, member: UUID? = nil, distance: Float? = nil, checkin: UUID? = nil,
        logger: Logger
    ) async {
        metrics.recordCheckinAttempt(method: attempt.method.rawValue, outcome: outcome)
        do {
            try await store.record(
                .init(
                    organization: attempt.organization, account: attempt.account, method: attempt.method.rawValue,
                    outcome: outcome, member: member, distance: distance, reason: attempt.reason, checkin: checkin))
        } catch {
            logger.warning(
                "check-in attempt not recorded",
                metadata: [
                    "outcome": "\(outcome)", "error": "\(loggedDescription(of: error))",
                ])
        }
    }

    /// An attempt that ended in `error` (no face, a bad photo, an unknown member, the service overloaded …).
    func record(_ attempt: Attempt, failure error: any Error, logger: Logger) async {
        let problem = Problem(error)
        guard problem.code != ErrorCode.databaseUnavailable.name else {
            metrics.recordCheckinAttempt(method: attempt.method.rawValue, outcome: problem.code)
            return
        }
        await record(attempt, outcome: problem.code, logger: logger)
    }
}
