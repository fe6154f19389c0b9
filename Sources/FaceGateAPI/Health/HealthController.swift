import Gallery
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET /health` (liveness: the process serves) and `GET /ready` (every dependency checked for real: the database
/// probe at most about once a second, its outcome shared by the requests of that second; per client address
/// `READY_RATE_LIMIT_PER_MINUTE`, beyond it 429).
struct HealthController: Sendable {
    let postgres: PostgresClient
    let readinessTimeout: Duration
    let modelsLoaded: @Sendable () -> ReadinessReport.ModelsCheck
    /// The gallery searches use now (another after a face model switch).
    let gallery: @Sendable () -> FaceGallery
    let limiter: TokenBucketLimiter
    let probes = ProbeCache(maxAge: .seconds(1))

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("health") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("ready") { _, context -> Response in
            let decision = limiter.take(context.clientKey)
            guard decision.allowed else { throw Problem.rateLimited(decision, what: "readiness checks") }
            let report = await readiness(logger: context.logger)
            var response = try JSONResponse.encode(report, status: report.isReady ? .ok : .serviceUnavailable)
            if !report.isReady { response.headers[.retryAfter] = "5" }
            return response
        }
    }

    func readiness(logger: Logger) async -> ReadinessReport {
        var database = ReadinessReport.DatabaseCheck(ok: false)
        var schema = ReadinessReport.SchemaCheck(ok: false, expected: Migration.latestVersion)
        let outcome = await probes.outcome {
            do {
                return .reached(try await DatabaseStatus.probe(postgres, timeout: readinessTimeout, logger: logger))
            } catch {
                let reason = loggedDescription(of: error)
                logger.warning("readiness: database unreachable", metadata: ["error": "\(reason)"])
                return .unreachable(reason)
            }
        }
        switch outcome {
        case .reached(let status):
            database.pgvectorVersion = status.pgvectorVersion
            database.ok = status.pgvectorVersion != nil
            if !database.ok { database.error = "pgvector extension is not installed" }
            schema.version = status.schemaVersion
            schema.ok = status.schemaIsCurrent
        case .unreachable:
            database.error = "unreachable"
        }
        return ReadinessReport(
            checks: .init(
                database: database, schema: schema, models: modelsLoaded(),
                gallery: galleryCheck()))
    }

    func galleryCheck() -> ReadinessReport.GalleryCheck {
        let gallery = gallery()
        let inSync = gallery.isInSync
        // A backend that searches the database keeps no copy to report on.
        let status = gallery.syncStatus
        let error = status.unknownTemplateKey.map {
            "face templates are stored under key \($0), which this instance does not have: restart it with the key"
        }
        guard let faces = gallery.indexedFaces else {
            return .init(ok: inSync, backend: gallery.backend.rawValue, inSync: inSync, error: error)
        }
        return .init(
            ok: inSync, backend: gallery.backend.rawValue, faces: faces,
            indexBytes: gallery.indexBytes, inSync: inSync, listening: status.listening,
            lastCheckAt: status.lastCheck, reloads: status.reloads, error: error)
    }
}
