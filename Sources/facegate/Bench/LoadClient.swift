import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A closed-loop HTTP/1.1 load generator for `facegate bench load`: `concurrency` virtual clients, each on its own
/// keep-alive connection, post one body after another until the time is up. A client that gets a 429 or 503 with
/// `Retry-After` waits as long (at most `maxRetryAfter`), as the kiosk does; a request that takes longer than
/// `timeout` is counted as a timeout and its connection closed.
struct LoadClient: Sendable {
    struct Target: Sendable {
        var host: String
        var port: Int
        var path: String
        var headers: [(String, String)]
    }

    /// One request's outcome: `status` 0 is a timeout, −1 a connection that failed or closed mid-request.
    struct Sample: Sendable {
        var status: Int
        var seconds: Double
        var retryAfter: Bool
    }

    let target: Target
    let bodies: [ByteBuffer]
    let timeout: Duration
    let maxRetryAfter: Duration

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
                        let body = bodies[next.increment() % bodies.count]
                        let started = ContinuousClock.now
                        let outcome = await withTaskGroup(of: Void.self) { group -> Outcome in
                            // The watchdog: closing the channel ends the response stream below.
                            group.addTask {
                                try? await Task.sleep(for: timeout)
                                if !Task.isCancelled { connection.channel.close(promise: nil) }
                            }
                            defer { group.cancelAll() }
                            return await send(body, outbound: outbound, responses: &responses)
                        }
                        let elapsed = ContinuousClock.now - started
                        switch outcome {
                        case .response(let status, let retryAfter, let keepAlive):
                            samples.append(Sample(status: status, seconds: elapsed / .seconds(1), retryAfter: retryAfter != nil))
                            if let retryAfter, status == 429 || status == 503 { pause = min(retryAfter, maxRetryAfter) }
                            if !keepAlive || pause != nil { return }
                        case .failed:
                            samples.append(Sample(status: elapsed >= timeout ? 0 : -1, seconds: elapsed / .seconds(1),
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

    private func send(
        _ body: ByteBuffer, outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    ) async -> Outcome {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path)
        head.headers.add(name: "Host", value: "\(target.host):\(target.port)")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in target.headers { head.headers.add(name: name, value: value) }
        do {
            try await outbound.write(.head(head))
            try await outbound.write(.body(.byteBuffer(body)))
            try await outbound.write(.end(nil))
            var status = 0, retryAfter: Duration?, keepAlive = true
            while let part = try await responses.next() {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    keepAlive = response.isKeepAlive
                    retryAfter = response.headers.first(name: "retry-after").flatMap(Int.init).map { .seconds($0) }
                case .body:
                    break
                case .end:
                    return .response(status: status, retryAfter: retryAfter, keepAlive: keepAlive)
                }
            }
            return .failed
        } catch {
            return .failed
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
