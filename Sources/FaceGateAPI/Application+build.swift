import Foundation
import FaceEngine
import Gallery
import Hummingbird
import ImageDecoding
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage

/// Builds the whole service from a validated configuration: the PostgreSQL client (run as a service), migrations
/// and the super admin before the server accepts connections, and the routes. Tests call this directly.
public func buildApplication(
    _ configuration: AppConfiguration, logger baseLogger: Logger? = nil
) async throws -> some ApplicationProtocol {
    let logger = {
        var logger = baseLogger ?? Logger(label: "facegate")
        logger.logLevel = configuration.logLevel
        return logger
    }()

    let models = FaceModels(directory: configuration.engine.modelsDirectory)
    try models.verify()
    let engines = try EnginePool(
        count: configuration.engine.workers, models: models, settings: configuration.engine.settings,
        queueLimit: configuration.engine.queueLimit)

    let postgres = PostgresClient(
        configuration: try DatabaseURL.configuration(from: configuration.databaseURL),
        backgroundLogger: logger)

    let faces = FaceStore(client: postgres, logger: logger)
    let gallery = FaceGallery(
        store: faces, members: MemberStore(client: postgres, logger: logger),
        dimension: configuration.embeddingDimensions, backend: configuration.searchBackend,
        efSearch: configuration.hnswEfSearch, logger: logger)
    // Loads the index once the schema exists (it retries until then), then follows the database.
    let gallerySync = GallerySync(
        gallery: gallery, client: postgres, checkInterval: configuration.galleryCheckInterval, logger: logger)

    let users = UserStore(client: postgres, logger: logger)
    let tokens = await TokenService(
        secret: configuration.secretKey, accessLifetime: configuration.accessTokenLifetime,
        refreshLifetime: configuration.refreshTokenLifetime)
    let dummyHash = try await hashPassword(UUID().uuidString, cost: configuration.bcryptCost)

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: CORSAllowListMiddleware(origins: configuration.allowedOrigins))
    let requestLimiter = TokenBucketLimiter(
        perMinute: configuration.rateLimitPerMinute, burst: configuration.rateLimitBurst)
    let loginLimiter = TokenBucketLimiter(
        perMinute: configuration.loginRateLimitPerMinute, burst: configuration.loginRateLimitPerMinute)
    let metrics = ServiceMetrics(gallery: gallery, engines: engines)
    router.get("metrics") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: metrics.scrape())))
    }
    let api = router.group("api/v1")
    api.add(middleware: MetricsMiddleware(metrics: metrics))
    api.add(middleware: AuthenticationMiddleware(tokens: tokens, users: users, limiter: requestLimiter))
    api.add(middleware: RateLimitMiddleware(requests: requestLimiter))
    AuthController(
        tokens: tokens, users: users, refreshTokens: RefreshTokenStore(client: postgres, logger: logger),
        dummyHash: dummyHash, loginLimiter: loginLimiter
    ).addRoutes(to: api.group("auth"))
    OrganizationsController(organizations: OrganizationStore(client: postgres, logger: logger), users: users)
        .addRoutes(to: api.group("organizations"))
    UsersController(users: users, bcryptCost: configuration.bcryptCost).addRoutes(to: api.group("users"))
    let members = MemberStore(client: postgres, logger: logger)
    MembersController(members: members, gallery: gallery, users: users).addRoutes(to: api.group("members"))
    let pipeline = FacePipeline(engines: engines, decoder: ImageDecoder(limits: configuration.imageLimits), metrics: metrics)
    FacesController(
        pipeline: pipeline, gallery: gallery, members: members, faces: faces, users: users,
        sealer: BiometricSealer(key: configuration.biometricEncryptionKey), gate: configuration.engine.enrolmentGate,
        rule: configuration.engine.matchRule, maxImageBytes: configuration.imageLimits.maxBytes,
        modelVersion: configuration.engine.modelVersion
    ).addRoutes(to: api.group("members"))
    MatchingController(
        pipeline: pipeline, gallery: gallery, members: members, faces: faces,
        checkins: CheckinStore(client: postgres, logger: logger), rule: configuration.engine.matchRule,
        dedupSeconds: configuration.checkinDedupSeconds, maxImageBytes: configuration.imageLimits.maxBytes
    ).addRoutes(to: api)
    DocsController().addRoutes(to: api)
    HealthController(
        postgres: postgres, readinessTimeout: configuration.readinessTimeout,
        modelsLoaded: { .init(ok: engines.size > 0, detector: configuration.engine.settings.detector.rawValue) },
        gallery: gallery
    ).addRoutes(to: router)

    // Every route is in the OpenAPI document and every documented route is served, or the service does not start.
    let undocumented = OpenAPIDocument.mismatches(with: router.routes.map { ($0.method.rawValue, $0.path.description) })
    guard undocumented.isEmpty else { throw OpenAPIMismatch(routes: undocumented) }

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "facegate"),
        services: [postgres, gallerySync],
        logger: logger)
    app.beforeServerStarts {
        try await Migrator().migrate(postgres, logger: logger)
        if let width = try await faces.embeddingColumnDimensions(), width != configuration.embeddingDimensions {
            throw StorageError.embeddingWidthMismatch(column: width, model: configuration.embeddingDimensions)
        }
        try await users.ensureSuperAdmin(configuration.superAdmin, bcryptCost: configuration.bcryptCost)
    }
    return app
}

/// The router and `OpenAPIDocument` disagree: a route was added or removed without updating the document.
struct OpenAPIMismatch: Error, CustomStringConvertible {
    let routes: [String]
    var description: String { "the OpenAPI document does not match the router: " + routes.joined(separator: ", ") }
}
