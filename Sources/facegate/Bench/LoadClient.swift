import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A closed-loop HTTP/1.1 load generator for `facegate bench load`: `concurrency` virtual clients, each on its own
/// keep-alive connection, post one body after another until the time is up. A client that gets a 429 or 503 with
/// `Retry-After` waits as long (at most `maxRetryAfter`), as the kiosk does; a request that takes longer than
/// `timeout` is counted as a timeout and its connection closed.
///
/// With a `challenge`, each of a client's check-ins is a liveness challenge's round trip on its connection: `POST` to
/// the challenge path (`…/checkins/challenges`), then the frames of the turn it asks for, as multipart with its
/// `challenge_id`, to the target's path; the sample is the pair's (its time both requests, its status the check-in's,
/// or the challenge request's when that one is not 2xx).
struct LoadClient: Sendable {
    struct Target: Sendable {
        var host: String
        var port: Int
        var path: String
        var headers: [(String, String)]
    }

    /// A challenge check-in: where the challenge is asked for, and the frames to answer each turn with.
    struct Challenge: Sendable {
        /// The path of `POST /api/v1/checkins/challenges`.
        var path: String
        /// The multipart boundary of the check-ins.
        var boundary: String
        /// The frames' `image` parts and the closing boundary, for a turn to the person's own left and right.
        var left: ByteBuffer
        var right: ByteBuffer

        /// `left` and `right` frames (JPEG, in capture order) as the multipart parts that follow the `challenge_id`.
        init(path: String, left: [[UInt8]], right: [[UInt8]]) {
            let boundary = "facegate-load-\(UUID().uuidString)"
            self.path = path
            self.boundary = boundary
            self.left = Self.parts(left, boundary: boundary)
            self.right = Self.parts(right, boundary: boundary)
        }

        static func parts(_ frames: [[UInt8]], boundary: String) -> ByteBuffer {
            var buffer = ByteBuffer()
            for (i, frame) in frames.enumerated() {
                buffer.writeString(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; "
                        + "filename=\"frame\(i).jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
                buffer.writeBytes(frame)
                buffer.writeString("\r\n")
            }
            buffer.writeString("--\(boundary)--\r\n")
            return buffer
        }

        /// The check-in's body for the challenge `id`, answering `turn` (`left`, `right`); nil for another turn.
        func body(id: String, turn: String) -> ByteBuffer? {
            var frames: ByteBuffer
            switch turn {
            case "left": frames = left
            case "right": frames = right
            default: return nil
            }
            var body = ByteBuffer()
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"challenge_id\"\r\n\r\n\(id)\r\n")
            body.writeBuffer(&frames)
            return body
        }

        /// `challenge_id` and `turn` of a `201` answer to the challenge request.
        static func asked(in answer: ByteBuffer) -> (id: String, turn: String)? {
            guard
                let object = try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView)) as? [String: Any],
                let id = object["challenge_id"] as? String, let turn = object["turn"] as? String
            else { return nil }
            return (id, turn)
        }
    }

    /// One request's outcome: `status` 0 is a timeout, −1 a connection that failed or closed mid-request, −2 a
    /// challenge answer without a `challenge_id` and a `turn` the frames answer.
    struct Sample: Sendable {
        var status: Int
        var seconds: Double
        var retryAfter: Bool
    }

    let target: Target
    let bodies: [ByteBuffer]
    let challenge: Challenge?
    let timeout: Duration
    let maxRetryAfter: Duration

    /// Posts `bodies` in turn to the target, or with a `challenge` its round trips (`bodies` unused).
    init(target: Target, bodies: [ByteBuffer], challenge: Challenge? = nil, timeout: Duration, maxRetryAfter: Duration)
    {
        self.target = target
        self.bodies = bodies
        self.challenge = challenge
        self.timeout = timeout
        self.maxRetryAfter = maxRetryAfter
    }

    /// Hands the bodies out in turn across the clients.
    private final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func increment() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
    }

    private typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    private enum Outcome {
        case response(status: Int, retryAfter: Duration?, keepAlive: Bool)
        case failed
    }

    /// Runs `concurrency` clients for `duration`; every request's sample, in no particular order.
    func run(concurrency: Int, duration: Duration) async -> [Sample] {
        let deadline = ContinuousClock.now + duration
        let next = Counter()
        return await withTaskGroup(of: [Sample].self) { group in
            for _ in 0..<concurrency {
                group.addTask { await client(until: deadline, next: next) }
            }
            var all: [Sample] = []
            for await samples in group { all += samples }
            return all
        }
    }

    /// One virtual client: connects, sends requests back to back, reconnects after a failure or a closed connection.
    private func client(until deadline: ContinuousClock.Instant, next: Counter) async -> [Sample] {
        var samples: [Sample] = []
        while ContinuousClock.now < deadline {
            let connection: Connection
            do {
                connection = try await connect()
            } catch {
                samples.append(Sample(status: -1, seconds: 0, retryAfter: false))
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            var pause: Duration?
            do {
                try await connection.executeThenClose { inbound, outbound in
                    var responses = inbound.makeAsyncIterator()
                    while ContinuousClock.now < deadline {
                        let started = ContinuousClock.now
                        let outcome = await withTaskGroup(of: Void.self) { group -> Outcome in
                            // The watchdog: closing the channel ends the response stream below.
                            group.addTask {
                                try? await Task.sleep(for: timeout)
                                if !Task.isCancelled { connection.channel.close(promise: nil) }
                            }
                            defer { group.cancelAll() }
                            return await exchange(next: next, outbound: outbound, responses: &responses)
                        }
                        let elapsed = ContinuousClock.now - started
                        switch outcome {
                        case .response(let status, let retryAfter, let keepAlive):
                            samples.append(
                                Sample(status: status, seconds: elapsed / .seconds(1), retryAfter: retryAfter != nil))
                            if let retryAfter, status == 429 || status == 503 { pause = min(retryAfter, maxRetryAfter) }
                            if !keepAlive || pause != nil { return }
                        case .failed:
                            samples.append(
                                Sample(
                                    status: elapsed >= timeout ? 0 : -1, seconds: elapsed / .seconds(1),
                                    retryAfter: false))
                            return
                        }
                    }
                }
            } catch {
                // Closing an already closed connection; the failed request was counted above.
            }
            if let pause { try? await Task.sleep(for: pause) }
        }
        return samples
    }

    /// One check-in: the next body posted to the target, or with a `challenge` the challenge request and then the
    /// frames of the turn it asks for (a challenge request that is not answered 2xx is the outcome).
    private func exchange(
        next: Counter, outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    ) async -> Outcome {
        guard let challenge else {
            let body = bodies[next.increment() % bodies.count]
            return await send(body, to: target.path, outbound: outbound, responses: &responses).outcome
        }
        let (outcome, answer) = await send(
            ByteBuffer(), to: challenge.path, keepingBody: true, outbound: outbound, responses: &responses)
        guard case .response(let status, _, let keepAlive) = outcome, (200..<300).contains(status) else {
            return outcome
        }
        // The check-in cannot follow on a connection the server closes.
        guard keepAlive else { return .failed }
        guard let asked = Challenge.asked(in: answer), let body = challenge.body(id: asked.id, turn: asked.turn) else {
            return .response(status: -2, retryAfter: nil, keepAlive: true)
        }
        let multipart = [("Content-Type", "multipart/form-data; boundary=\(challenge.boundary)")]
        return await send(body, to: target.path, headers: multipart, outbound: outbound, responses: &responses).outcome
    }

    /// POSTs `body` to `path` with the target's headers and `headers`; the outcome, and with `keepingBody` the
    /// answer's body.
    private func send(
        _ body: ByteBuffer, to path: String, headers: [(String, String)] = [], keepingBody: Bool = false,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    ) async -> (outcome: Outcome, body: ByteBuffer) {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: "\(target.host):\(target.port)")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in target.headers + headers { head.headers.add(name: name, value: value) }
        var answer = ByteBuffer()
        do {
            try await outbound.write(.head(head))
            if body.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(body))) }
            try await outbound.write(.end(nil))
            var status = 0, retryAfter: Duration?, keepAlive = true
            while let part = try await responses.next() {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    keepAlive = response.isKeepAlive
                    retryAfter = response.headers.first(name: "retry-after").flatMap(Int.init).map { .seconds($0) }
                case .body(var bytes):
                    if keepingBody { answer.writeBuffer(&bytes) }
                case .end:
                    return (.response(status: status, retryAfter: retryAfter, keepAlive: keepAlive), answer)
                }
            }
            return (.failed, answer)
        } catch {
            return (.failed, answer)
        }
    }

    private func connect() async throws -> Connection {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }
}
