import Dispatch
import Synchronization

/// A fixed set of face recognizers of one model (`FaceRecognizer`), each on its own serial dispatch queue (one
/// thread), so that native model code never runs on the Swift concurrency pool or an event loop. Jobs wait in FIFO order for a free engine. A new job fails at once
/// with `.overloaded` (the API answers 503 with Retry-After) when `queueLimit` jobs already wait, or when its
/// expected wait — the jobs ahead of it times the recent average job time, shared by the engines — would pass
/// `maxWait`: a count alone cannot bound latency, since a job's cost depends on the photo and the machine.
public final class EnginePool: Sendable {
    /// An engine and the only queue that may touch it.
    private final class Slot: @unchecked Sendable {
        let engine: any FaceRecognizer
        let queue: DispatchQueue
        init(engine: any FaceRecognizer, index: Int) {
            self.engine = engine
            self.queue = DispatchQueue(label: "facegate.engine.\(index)")
        }
    }

    private struct State {
        var free: [Int]
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Int, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        /// Jobs cancelled before they joined `waiters`, refused when they try to.
        var cancelled: Set<UInt64> = []
        /// Exponentially weighted average of recent jobs' engine time, in seconds (nil before the first job).
        var averageJobSeconds: Double?
        var lastTrim = ContinuousClock.now
    }

    private let slots: [Slot]
    private let state: Mutex<State>
    public let queueLimit: Int
    public let maxWait: Duration?
    public var size: Int { slots.count }
    /// The model every engine of the pool runs.
    public let descriptor: FaceModelDescriptor

    /// Loads `count` recognizers of `model`, each with its own copy of the networks (memory grows with `count`;
    /// README, "Benchmarks"). `OPENBLAS_NUM_THREADS=1` should be
    /// set before the process starts: one engine per core beats one engine with several BLAS threads.
    public convenience init(
        count: Int, model: FaceModelKind = .sface, models: FaceModels, settings: FaceEngineSettings, queueLimit: Int,
        maxWait: Duration? = nil
    ) throws(FaceEngineError) {
        try self.init(count: count, queueLimit: queueLimit, maxWait: maxWait) { () throws(FaceEngineError) in
            try model.makeRecognizer(models: models, settings: settings)
        }
    }

    /// `count` engines made by `makeRecognizer` (one call per engine; they must all be of one model).
    public init(
        count: Int, queueLimit: Int, maxWait: Duration? = nil,
        makeRecognizer: () throws(FaceEngineError) -> any FaceRecognizer
    ) throws(FaceEngineError) {
        precondition(count > 0 && queueLimit >= 0)
        var slots: [Slot] = []
        for index in 0..<count {
            slots.append(Slot(engine: try makeRecognizer(), index: index))
        }
        self.descriptor = slots[0].engine.descriptor
        self.slots = slots
        self.state = Mutex(State(free: Array(0..<count)))
        self.queueLimit = queueLimit
        self.maxWait = maxWait
    }

    /// Jobs waiting for an engine now.
    public var queueDepth: Int { state.withLock { $0.waiters.count } }
    public var busyEngines: Int { slots.count - state.withLock { $0.free.count } }
    /// The recent average engine time of a job (nil before the first).
    public var averageJobTime: Duration? { state.withLock { $0.averageJobSeconds }.map { .seconds($0) } }

    /// Runs `work` on a free engine, waiting in line for one.
    public func run<T: Sendable>(_ work: @escaping @Sendable (any FaceRecognizer) throws -> T) async throws -> T {
        let index = try await acquire()
        let slot = slots[index]
        let (result, jobTime) = await withCheckedContinuation { continuation in
            slot.queue.async {
                let started = ContinuousClock.now
                let result = Result { try work(slot.engine) }
                continuation.resume(returning: (result, ContinuousClock.now - started))
            }
        }
        release(index, jobTime: jobTime)
        return try result.get()
    }

    /// Whether one more waiter behind `waiting` others would wait longer than `maxWait`.
    private func tooLongAWait(behind waiting: Int, averageJob: Double?) -> Bool {
        guard let maxWait, let averageJob else { return false }
        return Double(waiting + 1) * averageJob / Double(slots.count) > maxWait / .seconds(1)
    }

    /// A free engine's index, waiting in line for one. A cancellation is answered at once whenever it comes: while
    /// the job waits in the queue (it leaves it), or before it has joined it (the id is remembered, and the job is
    /// refused when it arrives instead of waiting for the next free engine).
    private func acquire() async throws -> Int {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        defer { state.withLock { _ = $0.cancelled.remove(id) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let immediate: Result<Int, any Error>? = state.withLock { state in
                    if state.cancelled.contains(id) { return .failure(CancellationError()) }
                    if let index = state.free.popLast() { return .success(index) }
                    if state.waiters.count >= queueLimit
                        || tooLongAWait(behind: state.waiters.count, averageJob: state.averageJobSeconds)
                    {
                        return .failure(FaceEngineError.overloaded(queueLimit: queueLimit))
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let cancelled = state.withLock { state in
                guard let position = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not in the queue yet (or already served): a job that has not joined it will be refused.
                    state.cancelled.insert(id)
                    return nil as CheckedContinuation<Int, any Error>?
                }
                return state.waiters.remove(at: position).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Hands the engine to the next waiter (or frees it) and folds the job's time into the average.
    private func release(_ index: Int, jobTime: Duration) {
        let seconds = jobTime / .seconds(1)
        let (next, trim) = state.withLock { state in
            state.averageJobSeconds = state.averageJobSeconds.map { 0.9 * $0 + 0.1 * seconds } ?? seconds
            if state.waiters.isEmpty {
                state.free.append(index)
                let now = ContinuousClock.now
                let trim = state.free.count == slots.count && now - state.lastTrim > .seconds(1)
                if trim { state.lastTrim = now }
                return (nil as CheckedContinuation<Int, any Error>?, trim)
            }
            return (state.waiters.removeFirst().continuation, false)
        }
        next?.resume(returning: index)
        if trim { Self.returnFreeMemory() }
    }

    /// Gives the memory a large photo's decoding and detection used back to the system once every engine is idle
    /// (at most once a second): glibc keeps freed memory in each engine thread's arena otherwise, and the process
    /// would stay at its high-water mark after one burst of large photos.
    private static func returnFreeMemory() {
        #if os(Linux)
        DispatchQueue.global(qos: .utility).async { _ = mallocTrim(0) }
        #endif
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (in malloc.h, which the Glibc module does not export): returns the free memory of every malloc
/// arena to the system.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
#endif
