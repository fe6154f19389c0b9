import Gallery
import Hummingbird
import Logging
import PostgresNIO
import Storage

/// `GET /health` (liveness: the process serves) and `GET /ready` (every dependency checked for real, each time).
struct HealthController: Sendable {
    let postgres: PostgresClient
    let readinessTimeout: Duration
    let modelsLoaded: @Sendable () -> ReadinessReport.ModelsCheck
    let gallery: FaceGallery

    func addRoutes(to router: some RouterMethods<some RequestContext>) {
        router.get("health") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("ready") { _, context -> Response in
            let report = await readiness(logger: context.logger)
            var response = try JSONResponse.encode(report, status: report.isReady ? .ok : .serviceUnavailable)
            if !report.isReady { response.headers[.retryAfter] = "5" }
            return response
        }
    }

    func readiness(logger: Logger) async -> ReadinessReport {
        var database = ReadinessReport.DatabaseCheck(ok: false)
        var schema = ReadinessReport.SchemaCheck(ok: false, expected: Migration.latestVersion)
        do {
            let status = try await DatabaseStatus.probe(postgres, timeout: readinessTimeout, logger: logger)
            database.pgvectorVersion = status.pgvectorVersion
            database.ok = status.pgvectorVersion != nil
            if !database.ok { database.error = "pgvector extension is not installed" }
            schema.version = status.schemaVersion
            schema.ok = status.schemaIsCurrent
        } catch {
            logger.warning("readiness: database unreachable", metadata: ["error": "\(String(reflecting: error))"])
            database.error = "unreachable"
        }
        return ReadinessReport(checks: .init(database: database, schema: schema, models: modelsLoaded(),
                                             gallery: galleryCheck()))
    }

    func galleryCheck() -> ReadinessReport.GalleryCheck {
        let inSync = gallery.isInSync
        guard gallery.backend == .memory else {
            return .init(ok: inSync, backend: gallery.backend.rawValue, inSync: inSync)
        }
        let status = gallery.syncStatus
        return .init(ok: inSync, backend: gallery.backend.rawValue, faces: gallery.indexedFaces,
                     indexBytes: gallery.indexBytes, inSync: inSync, listening: status.listening,
                     lastCheckAt: status.lastCheck, reloads: status.reloads)
    }
}
