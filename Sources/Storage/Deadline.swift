import Synchronization

/// Runs `body` in a task of its own and returns its result, unless `timeout` passes first (`timeoutError` is thrown)
/// or the caller is cancelled first (`CancellationError`). Either way the caller is answered at once: the abandoned
/// body is cancelled and left to end by itself, never waited for (postgres-nio's pool may hold a cancelled lease
/// until it can connect). A body that reaches its point of no return calls `deadline.commit()`: from then on the
/// caller waits for its result; `commit()` is false when the caller was already answered, and the body must give up.
public func answerWithin<Result: Sendable>(
    _ timeout: Duration, orThrow timeoutError: any Error & Sendable,
    _ body: @escaping @Sendable (Deadline) async throws -> Result
) async throws -> Result {
    let deadline = Deadline()
    let answer = Answer<Result>()
    let work = Task {
        do { answer.deliver(.success(try await body(deadline))) } catch { answer.deliver(.failure(error)) }
    }
    let clock = Task {
        do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: answered in time
        if deadline.settle(.timedOut) {
            answer.deliver(.failure(timeoutError))
            work.cancel()
        }
    }
    defer { clock.cancel() }
    return try await withTaskCancellationHandler {
        try await answer.value
    } onCancel: {
        if deadline.settle(.cancelled) { answer.deliver(.failure(CancellationError())) }
        work.cancel()
    }
}

/// Who settled first: the body committing to its work, the clock, or the caller's cancellation.
public final class Deadline: Sendable {
    enum Outcome: UInt8 { case pending, committed, timedOut, cancelled }
    private let state = Atomic<UInt8>(Outcome.pending.rawValue)

    /// Called by the body before work that must not be abandoned: true when the caller will wait for it.
    public func commit() -> Bool { settle(.committed) }

    /// True when `outcome` is the first to settle.
    func settle(_ outcome: Outcome) -> Bool {
        state.compareExchange(
            expected: Outcome.pending.rawValue, desired: outcome.rawValue, ordering: .acquiringAndReleasing
        )
        .exchanged
    }
}

/// A result delivered once, by whichever task has it first, to one waiting caller.
final class Answer<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, any Error>?)
        case delivered(Swift.Result<Value, any Error>)
        case taken
    }
    private let state = Mutex<State>(.waiting(nil))

    /// Delivers `result` unless one was delivered already.
    func deliver(_ result: Swift.Result<Value, any Error>) {
        let waiting: CheckedContinuation<Value, any Error>? = state.withLock { state in
            guard case .waiting(let continuation) = state else { return nil }
            state = continuation == nil ? .delivered(result) : .taken
            return continuation
        }
        waiting?.resume(with: result)
    }

    /// The delivered result, awaited when there is none yet.
    var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Swift.Result<Value, any Error>? = state.withLock { state in
                    guard case .delivered(let result) = state else {
                        state = .waiting(continuation)
                        return nil
                    }
                    state = .taken
                    return result
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}
