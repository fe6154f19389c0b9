import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP server the webhook tests send to: it records every request (headers and body) as it arrives and answers
/// as its `mode` says — 200, 500, 200 after a pause longer than the sender waits, or 403 with a message (a validation call's
/// refusal). Started on a port of its own; stopped
/// and started again on the same port, it is a receiver that was down.
final class WebhookReceiver: Sendable {
    enum Mode: Sendable { case ok, failing, slow(Duration), refusing(String), redirecting }

    struct Received: Sendable {
        var signature: String
        var eventID: String
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var type: String? { json["type"] as? String }
        var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    }

    let port: Int
    private let state = Mutex<(mode: Mode, received: [Received])>((.ok, []))
    private let running = Mutex<Task<Void, Error>?>(nil)

    init(port: Int) { self.port = port }

    var url: String { "http://127.0.0.1:\(port)/hooks" }
    var received: [Received] { state.withLock { $0.received } }
    func set(_ mode: Mode) { state.withLock { $0.mode = mode } }

    /// Answers from now on until `stop`; returns once it listens, throws when it cannot.
    func start() async throws {
        let router = Router()
        router.post("hooks") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let received = Received(
                signature: request.headers[HTTPField.Name("Facegate-Signature")!] ?? "",
                eventID: request.headers[HTTPField.Name("Facegate-Event-Id")!] ?? "",
                body: Array(buffer: body))
            // Recorded as it arrives, in the mode of that moment: a slow answer's request is on the record while the
            // sender still waits (not seconds later, in whatever the test does next).
            let mode = state.withLock {
                $0.received.append(received)
                return $0.mode
            }
            if case .slow(let pause) = mode { try await Task.sleep(for: pause) }
            switch mode {
            case .failing: return Response(status: .internalServerError)
            case .refusing(let message):
                return Response(
                    status: .forbidden, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"message": "\#(message)"}"#)))
            case .redirecting: return Response(status: .found, headers: [.location: "http://127.0.0.1:9/elsewhere"])
            case .ok, .slow: return Response(status: .ok)
            }
        }
        let listening = AsyncStream<Void>.makeStream()
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in listening.continuation.yield() }, logger: logger)
        running.withLock {
            $0 = Task {
                // A server that ends without listening (its port taken) ends the wait below too.
                defer { listening.continuation.finish() }
                try await app.runService(gracefulShutdownSignals: [])
            }
        }
        for await _ in listening.stream { return }
        throw DidNotStart(port: port)
    }

    struct DidNotStart: Error, CustomStringConvertible {
        let port: Int
        var description: String { "the webhook receiver did not start listening on port \(port)" }
    }

    /// Stops answering: connections are refused until `start`.
    func stop() async {
        guard
            let task = running.withLock({
                let task = $0
                $0 = nil
                return task
            })
        else { return }
        task.cancel()
        _ = try? await task.value
    }

    /// Waits (at most `timeout`) until `condition` holds for what was received; returns it.
    func wait(
        _ what: String, timeout: Duration = .seconds(60), until condition: ([Received]) -> Bool
    ) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let now = received
            if condition(now) { return now }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ReceiverTimedOut(what: what, received: received.map { "\($0.type ?? "?") \($0.eventID)" })
    }

    struct ReceiverTimedOut: Error, CustomStringConvertible {
        let what: String
        let received: [String]
        var description: String { "timed out waiting until \(what); received: \(received)" }
    }
}
