/// Reads `read` every `interval` until `done` holds for what it read or `within` has passed, and returns the last read:
/// when time runs out, the caller's expectations on it say what was wrong.
public func poll<Value>(
    every interval: Duration = .milliseconds(200), within: Duration, _ read: () async throws -> Value,
    until done: (Value) -> Bool
) async throws -> Value {
    let deadline = ContinuousClock.now + within
    while true {
        let value = try await read()
        if done(value) || ContinuousClock.now >= deadline { return value }
        try await Task.sleep(for: interval)
    }
}
