import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Storage

/// Posts one JSON body to a receiver over HTTP/1.1, each time on a new connection: the name resolved and the address
/// checked (`WebhookAddressPolicy`) just before connecting to exactly that address, TLS verified against the name
/// (system trust roots), the whole exchange bounded by `timeout`, a redirect answered as what it is (never followed)
/// and at most `maxResponseBytes` of the answer kept.
public struct WebhookSender: Sendable {
    public let policy: WebhookAddressPolicy
    public let timeout: Duration
    public let maxResponseBytes: Int
    let tls: NIOSSLContext

    public init(policy: WebhookAddressPolicy, timeout: Duration = .seconds(5), maxResponseBytes: Int = 4096) throws {
        self.policy = policy
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    public struct Response: Sendable, Equatable {
        public var status: Int
        /// The start of the answer's body (at most `maxResponseBytes`), as text.
        public var body: String
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case refused(WebhookAddressPolicy.Refusal)
        case unresolvable(String)
        case connectFailed(String)
        case timedOut
        case closed(String)

        public var description: String {
            switch self {
            case .refused(let refusal): "refused: \(refusal)"
            case .unresolvable(let host): "\(host) does not resolve"
            case .connectFailed(let why): "cannot connect: \(why)"
            case .timedOut: "no answer in time"
            case .closed(let why): "the connection ended before an answer: \(why)"
            }
        }
    }

    /// POSTs `body` to `url` with `headers` (Content-Type is JSON).
    public func post(_ url: String, body: [UInt8], headers: [(String, String)]) async throws -> Response {
        let target: WebhookAddressPolicy.Target
        do { target = try policy.target(url) } catch let refusal as WebhookAddressPolicy.Refusal {
            throw Failure.refused(refusal)
        }
        let deadline = ContinuousClock.now + timeout
        // The answer or the deadline, whichever comes first; the exchange is cancelled at the deadline and not waited
        // for (a name lookup cannot be cancelled: it ends on its own thread).
        return try await answerWithin(timeout, orThrow: Failure.timedOut) { _ in
            try await exchange(target, body: body, headers: headers, deadline: deadline)
        }
    }

    private typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    private func exchange(
        _ target: WebhookAddressPolicy.Target, body: [UInt8], headers: [(String, String)],
        deadline: ContinuousClock.Instant
    ) async throws -> Response {
        let address = try await resolve(target)
        do { try policy.check(address) } catch let refusal as WebhookAddressPolicy.Refusal {
            throw Failure.refused(refusal)
        }
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw Failure.timedOut }
        let connection: Connection
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(max(1, Int64(left / .milliseconds(1)))))
                .connect(to: address) { [tls] channel in
                    channel.eventLoop.makeCompletedFuture {
                        if target.https {
                            let isLiteral = (try? SocketAddress(ipAddress: target.host, port: 0)) != nil
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: isLiteral ? nil : target.host))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.connectFailed("\(error)")
        }
        return try await withTaskCancellationHandler {
            try await connection.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path)
                let defaultPort = target.https ? 443 : 80
                let host = target.host.contains(":") ? "[\(target.host)]" : target.host
                head.headers.add(name: "Host", value: target.port == defaultPort ? host : "\(host):\(target.port)")
                head.headers.add(name: "Content-Type", value: "application/json")
                head.headers.add(name: "Content-Length", value: String(body.count))
                head.headers.add(name: "Connection", value: "close")
                head.headers.add(name: "User-Agent", value: "facegate-webhooks/1")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                do {
                    try await outbound.write(.head(head))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                } catch {
                    throw Failure.closed("\(error)")
                }
                var status: Int?
                var kept = ByteBuffer()
                do {
                    for try await part in inbound {
                        switch part {
                        case .head(let response):
                            status = Int(response.status.code)
                        case .body(var bytes):
                            let room = maxResponseBytes - kept.readableBytes
                            if room > 0, let slice = bytes.readSlice(length: min(room, bytes.readableBytes)) {
                                var slice = slice
                                kept.writeBuffer(&slice)
                            }
                            // Enough of the answer: the status is what counts.
                            if kept.readableBytes >= maxResponseBytes, let status {
                                return Response(status: status, body: String(buffer: kept))
                            }
                        case .end:
                            guard let status else { throw Failure.closed("an answer without a status line") }
                            return Response(status: status, body: String(buffer: kept))
                        }
                    }
                } catch let failure as Failure {
                    throw failure
                } catch {
                    if let status { return Response(status: status, body: String(buffer: kept)) }
                    throw Failure.closed("\(error)")
                }
                if let status { return Response(status: status, body: String(buffer: kept)) }
                throw Failure.closed("closed without an answer")
            }
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }

    /// The first address the name resolves to (a literal address as it is), looked up on threads of their own (a
    /// slow resolver holds neither the event loops nor the shared pool's few threads).
    private func resolve(_ target: WebhookAddressPolicy.Target) async throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: target.host, port: target.port) { return literal }
        do {
            return try await Self.resolvers.runIfActive {
                try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
            }
        } catch {
            throw Failure.unresolvable(target.host)
        }
    }

    static let resolvers: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()
}
