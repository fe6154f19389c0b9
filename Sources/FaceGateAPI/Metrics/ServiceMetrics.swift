import FaceEngine
import FaceGateRuntime
import Foundation
import Gallery
import Hummingbird
import Prometheus
import UseCases
import Webhooks

/// The service's Prometheus metrics, in a registry of its own (no process-wide bootstrap, so several
/// applications can live in one test process): requests per route and status with latencies, pipeline stage
/// latencies, and, read at scrape time, the gallery's size and the engine queue.
final class ServiceMetrics: StageTimings, WebhookObserver {
    let registry = PrometheusCollectorRegistry()

    static let requestBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "facegate", metricName: "http_requests", unitName: "total",
                helpText: "HTTP requests by method, route and status"),
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "facegate", metricName: "http_request_duration", unitName: "seconds",
                helpText: "HTTP request latency by method and route"),
            labels: [("method", method), ("route", route)], buckets: Self.requestBuckets
        ).record(duration)
    }

    /// One check-in attempt by how it was made and its outcome (the attempt record's `method` and `outcome`).
    func recordCheckinAttempt(method: String, outcome: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "facegate", metricName: "checkin_attempts", unitName: "total",
                helpText: "Check-in attempts by method and outcome"),
            labels: [("method", method), ("outcome", outcome)]
        ).increment()
    }

    /// One challenge check-in refused by the liveness check, by its reason (`LivenessRefusal`).
    func recordLivenessRefusal(reason: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "facegate", metricName: "liveness_refusals", unitName: "total",
                helpText: "Challenge check-ins refused by the liveness check, by reason"),
            labels: [("reason", reason)]
        ).increment()
    }

    /// One validation call before a check-in, by its result (`admitted`, `refused`, `error_admitted`, `error_refused`).
    func recordCheckinValidation(result: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "facegate", metricName: "checkin_validations", unitName: "total",
                helpText: "Validation calls before a check-in, by result"),
            labels: [("result", result)]
        ).increment()
    }

    /// One webhook delivery attempt by its result (`delivered`, `retry`, `failed`).
    func webhookAttempt(result: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "facegate", metricName: "webhook_attempts", unitName: "total",
                helpText: "Webhook delivery attempts by result"),
            labels: [("result", result)]
        ).increment()
    }

    /// A webhook delivered: the time from its event's commit to the receiver's 2xx.
    func webhookDelivered(lag: Duration) {
        registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "facegate", metricName: "webhook_delivery_lag", unitName: "seconds",
                helpText: "Time from an event's commit to its receiver's 2xx"),
            buckets: Self.requestBuckets + [.seconds(30), .seconds(60), .seconds(300), .seconds(3600)]
        ).record(lag)
    }

    /// One pipeline stage: `decode` or `faces` (detection, alignment and embedding), or `search`.
    func recordStage(_ stage: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "facegate", metricName: "pipeline_stage_duration", unitName: "seconds",
                helpText: "Time per pipeline stage"),
            labels: [("stage", stage)], buckets: Self.requestBuckets
        ).record(duration)
    }

    /// The exposition text, with the gauges of the model in use read now.
    func scrape(_ model: FaceModelRuntime) -> [UInt8] {
        let (gallery, engines) = (model.gallery, model.engines)
        func gauge(_ name: String, _ help: String, _ value: Double) {
            registry.makeGauge(descriptor: .init(namespace: "facegate", metricName: name, unitName: "", helpText: help))
                .set(value)
        }
        gauge(
            "gallery_faces", "Faces in the in-memory index (0 for the pgvector backends)",
            Double(gallery.indexedFaces ?? 0))
        gauge("gallery_index_bytes", "Bytes held by the in-memory index", Double(gallery.indexBytes))
        gauge("gallery_in_sync", "1 when the in-memory index follows the database", gallery.isInSync ? 1 : 0)
        gauge("engine_queue_depth", "Requests waiting for a face engine", Double(engines.queueDepth))
        gauge("engine_busy", "Face engines working now", Double(engines.busyEngines))
        return registry.emitToBuffer()
    }
}

/// Counts and times every request of the routes it wraps by its matched route (`{id}`, not the id itself, so
/// label values stay few); errors are counted with the status they will be answered with.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        do {
            let response = try await next(request, context)
            metrics.recordRequest(
                method: request.method.rawValue, route: route, status: response.status.code,
                duration: ContinuousClock.now - started)
            return response
        } catch {
            metrics.recordRequest(
                method: request.method.rawValue, route: route, status: Problem(error).status.code,
                duration: ContinuousClock.now - started)
            throw error
        }
    }
}

/// Whether `a` equals `b`, in a time that depends on their lengths only (a token compared byte by byte would tell an
/// attacker how many leading bytes were right).
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let (x, y) = (Array(a.utf8), Array(b.utf8))
    guard x.count == y.count else { return false }
    return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}
