import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage

/// What a dispatcher reports for metrics.
public protocol WebhookObserver: Sendable {
    /// One attempt and its result: `delivered`, `retry` or `failed`.
    func webhookAttempt(result: String)
    /// A delivery's lag from its event's commit to the receiver's 2xx.
    func webhookDelivered(lag: Duration)
}

/// Sends the outbox: on every instance, claims due deliveries (`WebhookStore.claim`: several instances share the
/// work, none sends a delivery another is sending), posts each signed event, and records what happened. A 2xx
/// delivers; anything else — an error status, a redirect, a refused address, no answer within the timeout — is tried
/// again after a growing pause with jitter (`initialBackoff` doubling to an hour, ±50 %), until `retryWindow` after
/// the delivery was first due; then it fails and its endpoint is disabled, saying why. At least once: a dispatcher
/// stopped mid-send leaves its claim to expire, and the same event (same id) goes again.
public struct WebhookDispatcher: Service {
    public struct Settings: Sendable {
        public var retryWindow: Duration
        public var initialBackoff: Duration
        public var pollInterval: Duration
        /// Sends at once, per instance.
        public var concurrency: Int
        /// While the instance's face engines are working (check-ins come first): `busyInterval` after the last batch,
        /// up to `busyBatch` due deliveries are claimed in one statement, sent, and recorded in one statement once the
        /// last of them has an answer (at most the send timeout) — the outbox's bookkeeping costs two statements per
        /// batch instead of two per event, for more lag: one member's events go one per batch.
        public var busyBatch = 32
        public var busyInterval: Duration = .milliseconds(200)

        public init(
            retryWindow: Duration = .seconds(24 * 3600), initialBackoff: Duration = .seconds(10),
            pollInterval: Duration = .milliseconds(250), concurrency: Int = 16
        ) {
            self.retryWindow = retryWindow
            self.initialBackoff = initialBackoff
            self.pollInterval = pollInterval
            self.concurrency = concurrency
        }
    }

    let store: WebhookStore
    let sender: WebhookSender
    let settings: Settings
    let observer: (any WebhookObserver)?
    /// Whether the instance's face engines are working now.
    let busy: @Sendable () -> Bool
    let logger: Logger

    public init(
        store: WebhookStore, sender: WebhookSender, settings: Settings, observer: (any WebhookObserver)?,
        busy: @escaping @Sendable () -> Bool = { false }, logger: Logger
    ) {
        self.busy = busy
        self.store = store
        self.sender = sender
        self.settings = settings
        self.observer = observer
        self.logger = logger
    }

    /// Long enough for a send to finish (its timeout) before another dispatcher may take the delivery again.
    var lease: Duration { sender.timeout * 2 + .seconds(5) }

    /// Keeps up to `concurrency` sends going: claims as many due deliveries as there are free places (a claimed
    /// delivery is sent at once, well within its lease), waits for a place when all are taken and polls when nothing
    /// is due; one slow receiver holds one place, not the others. While check-ins use the engines it sends in batches
    /// instead (`busyBatch`, `busyInterval` apart), once the sends going on have ended; there a receiver that does
    /// not answer holds its batch up to the send timeout.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                var running = 0  // sends going on, and the poll timer while one waits
                while !Task.isCancelled {
                    if busy() {
                        if running > 0 {
                            await group.next()
                            running -= 1
                            continue
                        }
                        do { try await Task.sleep(for: settings.busyInterval) } catch { return }
                        guard let claimed = await claim(limit: settings.busyBatch) else { continue }
                        let attempts = await withTaskGroup(of: WebhookStore.SentAttempt?.self) { sends in
                            for delivery in claimed { sends.addTask { await attempt(delivery) } }
                            var attempts: [WebhookStore.SentAttempt] = []
                            for await attempt in sends { if let attempt { attempts.append(attempt) } }
                            return attempts
                        }
                        await record(attempts)
                        continue
                    }
                    if running < settings.concurrency {
                        guard let claimed = await claim(limit: settings.concurrency - running) else { continue }
                        for delivery in claimed {
                            group.addTask {
                                if let attempt = await attempt(delivery) { await record([attempt]) }
                            }
                        }
                        running += claimed.count
                        if !claimed.isEmpty { continue }  // more places to fill, perhaps
                        if running == 0 {
                            do { try await Task.sleep(for: settings.pollInterval) } catch { return }
                            continue
                        }
                        // Nothing due while sends go on: look again when one ends or the poll interval passes.
                        group.addTask { try? await Task.sleep(for: settings.pollInterval) }
                        running += 1
                    }
                    await group.next()
                    running -= 1
                }
                group.cancelAll()
            }
        }
    }

    /// Up to `limit` due deliveries, claimed; nil when they cannot be claimed now (logged, after a pause).
    func claim(limit: Int) async -> [WebhookStore.Claimed]? {
        do {
            return try await store.claim(limit: limit, lease: lease)
        } catch {
            if Task.isCancelled { return nil }
            // Before the first migration has run (at start) the tables are not there yet.
            let early = (error as? PSQLError)?.serverInfo?[.sqlState] == PostgresError.Code.undefinedTable.raw
            logger.log(
                level: early ? .debug : .warning, "webhooks: cannot claim deliveries; trying again",
                metadata: ["error": "\(String(reflecting: error))"])
            try? await Task.sleep(for: .seconds(2))
            return nil
        }
    }

    /// One attempt of one delivery and what becomes of it; nil when shutting down (the claim expires and the delivery
    /// goes again).
    func attempt(_ claimed: WebhookStore.Claimed) async -> WebhookStore.SentAttempt? {
        let body = Self.body(of: claimed.event)
        let headers = [
            (
                WebhookSignature.header,
                WebhookSignature.header(
                    secrets: claimed.secrets, timestamp: Int(Date().timeIntervalSince1970), body: body)
            ),
            ("Facegate-Event-Id", claimed.event.id.uuidString.lowercased()),
            ("Facegate-Event-Type", claimed.event.type),
            ("Facegate-Delivery-Id", claimed.delivery.uuidString.lowercased()),
        ]
        let started = ContinuousClock.now
        var status: Int?
        var error: String?
        do {
            let response = try await sender.post(claimed.url, body: body, headers: headers)
            status = response.status
            if !(200..<300).contains(response.status) {
                let said = String(
                    String.UnicodeScalarView(
                        response.body.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.prefix(200)))
                error =
                    (300..<400).contains(response.status)
                    ? "answered a redirect (\(response.status)); redirects are not followed"
                    : "answered \(response.status)" + (said.isEmpty ? "" : ": \(said)")
            }
        } catch is CancellationError {
            return nil
        } catch let failure as WebhookSender.Failure {
            error = failure.description
        } catch let other {
            error = String(describing: other)
        }
        if Task.isCancelled { return nil }
        let duration = ContinuousClock.now - started
        let result: WebhookStore.Result
        if error == nil {
            result = .delivered
            observer?.webhookDelivered(lag: .seconds(Date().timeIntervalSince(claimed.event.createdAt)))
        } else {
            let next = Date().addingTimeInterval(backoff(afterAttempt: claimed.attempts) / .seconds(1))
            let giveUp = claimed.retryingSince.addingTimeInterval(settings.retryWindow / .seconds(1))
            if next > giveUp {
                result = .failed(
                    reason: """
                        deliveries failed for \(Self.hours(settings.retryWindow)) since \
                        \(ISO8601DateFormatter().string(from: claimed.retryingSince)); the last: \(error ?? "")
                        """)
                logger.error(
                    "webhooks: endpoint disabled after its deliveries failed",
                    metadata: [
                        "endpoint": "\(claimed.endpoint)", "error": "\(error ?? "")",
                    ])
            } else {
                result = .retry(at: next)
            }
        }
        observer?.webhookAttempt(result: result.name)
        return WebhookStore.SentAttempt(
            delivery: claimed.delivery, number: claimed.attempts, statusCode: status,
            duration: duration, error: error, result: result)
    }

    /// Records attempts; not recorded, their claims expire and the deliveries go again (the same event ids).
    func record(_ attempts: [WebhookStore.SentAttempt]) async {
        do {
            try await store.record(attempts)
        } catch {
            logger.warning(
                "webhooks: attempts not recorded",
                metadata: [
                    "deliveries": "\(attempts.map(\.delivery))", "error": "\(String(describing: error))",
                ])
        }
    }

    /// The pause after the `attempt`-th attempt: `initialBackoff` doubling to at most an hour, times 0.5–1.5.
    func backoff(afterAttempt attempt: Int) -> Duration {
        let base = settings.initialBackoff / .seconds(1) * pow(2, Double(max(0, attempt - 1)))
        return .seconds(min(base, 3600) * Double.random(in: 0.5...1.5))
    }

    static func hours(_ duration: Duration) -> String {
        let hours = duration / .seconds(3600)
        return hours >= 1 ? "\(Int(hours.rounded())) h" : "\(Int((duration / .seconds(1)).rounded())) s"
    }

    /// The event as sent.
    static func body(of event: WebhookStore.Event) -> [UInt8] {
        WebhookEnvelope.body(
            id: event.id, type: event.type, createdAt: event.createdAt,
            organization: event.organization, data: event.data)
    }
}

/// Every body facegate sends (a webhook's event, a validation call): `{"id", "type", "created_at",
/// "organization_id", "data"}`, ids in lowercase, the time in ISO 8601 with milliseconds.
enum WebhookEnvelope {
    /// `data` is the JSON text of an object.
    static func body(id: UUID, type: String, createdAt: Date, organization: UUID, data: String) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let head = [
            "\"id\":\"\(id.uuidString.lowercased())\"", "\"type\":\(jsonString(type))",
            "\"created_at\":\"\(formatter.string(from: createdAt))\"",
            "\"organization_id\":\"\(organization.uuidString.lowercased())\"",
        ]
        return Array(("{" + head.joined(separator: ",") + ",\"data\":" + data + "}").utf8)
    }

    static func jsonString(_ text: String) -> String {
        (try? String(decoding: JSONEncoder().encode(text), as: UTF8.self)) ?? "\"\""
    }
}
