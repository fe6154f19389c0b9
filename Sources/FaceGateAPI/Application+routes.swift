import FaceEngine
import FaceGateRuntime
import Foundation
import Gallery
import Hummingbird
import ImageDecoding
import Liveness
import Logging
import PostgresNIO
import Storage
import UseCases
import Webhooks

/// What the routes are built from.
struct AppServices: Sendable {
    let configuration: AppConfiguration
    let logger: Logger
    let postgres: PostgresClient
    /// The stores' way to PostgreSQL (waits for a connection bounded by `DATABASE_WAIT_MS`).
    let database: Database
    /// The face model's engines, stores and gallery, switched while running when another model is activated.
    let model: ActiveFaceModel
    let metrics: ServiceMetrics
    let users: UserStore
}

/// Every route and middleware: `/health`, `/ready`, `/metrics` and the kiosk and admin pages at the root, the API
/// under `/api/v1` behind metrics, authentication and rate limiting. Throws when the router and the OpenAPI document
/// disagree, or when the pages' files are missing.
func buildRouter(_ services: AppServices) async throws -> Router<AppRequestContext> {
    let configuration = services.configuration, logger = services.logger, postgres = services.postgres
    let (model, metrics, users) = (services.model, services.metrics, services.users)
    let tokens = await TokenService(
        secret: configuration.security.secretKey, accessLifetime: configuration.security.accessTokenLifetime,
        refreshLifetime: configuration.security.refreshTokenLifetime)
    // Each instance takes its share of every limit (RATE_LIMIT_INSTANCES), so that a load balancer spreading requests
    // over N instances does not multiply them.
    let share = configuration.limits.perInstance
    let requestLimiter = TokenBucketLimiter(
        perMinute: share(configuration.limits.requestsPerMinute), burst: share(configuration.limits.burst))
    let loginLimiter = TokenBucketLimiter(
        perMinute: share(configuration.limits.loginsPerMinute), burst: share(configuration.limits.loginsPerMinute))
    let usernameLimiter = TokenBucketLimiter(
        perMinute: share(10 * configuration.limits.loginsPerMinute),
        burst: share(10 * configuration.limits.loginsPerMinute))

    let router = Router(context: AppRequestContext.self)
    router.add(
        middleware: ClientAddressMiddleware(
            resolver: ClientAddressResolver(
                trustedProxies: configuration.server.trustedProxies, header: configuration.server.trustedProxyHeader)))
    router.add(middleware: LogRequestsMiddleware(.debug))
    // CORS outside the problem middleware: error answers (401, 404, 429, 503) carry the CORS headers too, so that an
    // allowed origin's page can read why a request failed.
    router.add(middleware: CORSAllowListMiddleware(origins: configuration.server.allowedOrigins))
    router.add(middleware: ProblemMiddleware())
    // Before authentication: bodies other than photos are small (a login, a member's fields: 64 KiB at most).
    router.add(middleware: BodyDeadlineMiddleware(timeout: configuration.server.bodyTimeout, maxBytes: 64 << 10))
    HealthController(
        postgres: postgres, readinessTimeout: configuration.database.readinessTimeout,
        modelsLoaded: {
            let runtime = model.current, activation = model.activation
            let largest = runtime.gallery.largestOrganizationFaces
            let byModel = runtime.gallery.syncStatus.facesByModel
            return .init(
                // An instance that cannot run the activated model still checks members in with its own (`error` says
                // why; its enrolments are refused): not taken out of the load balancer, where a fleet missing the
                // model's files would all go at once.
                ok: true, model: runtime.descriptor.name, version: runtime.descriptor.version,
                detector: runtime.descriptor.detector,
                targetFpir: runtime.policy.targetFPIR,
                tolerance: largest.map { runtime.policy.tolerance(galleryFaces: max(1, $0)) },
                largestGalleryFaces: largest,
                facesByModel: byModel.isEmpty
                    ? nil : Dictionary(uniqueKeysWithValues: byModel.map { ($0.key.description, $0.value) }),
                activated: activation.activated?.description, error: activation.notFollowing)
        },
        gallery: { model.current.gallery },
        // Not divided among instances: a load balancer checks each instance on its own.
        limiter: TokenBucketLimiter(
            perMinute: configuration.limits.readyChecksPerMinute, burst: configuration.limits.readyChecksPerMinute)
    ).addRoutes(to: router)
    let metricsAuthorization = configuration.server.metricsToken.map { "Bearer " + $0 }
    router.get("metrics") { request, _ in
        if let metricsAuthorization, !constantTimeEqual(request.headers[.authorization] ?? "", metricsAuthorization) {
            throw Problem(.invalidToken, detail: "/metrics needs the METRICS_TOKEN bearer token")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.scrape(model.current))))
    }
    try PagesController().addRoutes(to: router)

    let api = router.group("api/v1")
    api.add(middleware: MetricsMiddleware(metrics: metrics))
    api.add(middleware: AuthenticationMiddleware(tokens: tokens, users: users, limiter: requestLimiter))
    api.add(middleware: RateLimitMiddleware(requests: requestLimiter))
    api.add(
        middleware: ImageBytesBudgetMiddleware(
            budget: ImageBytesBudget(capacity: configuration.limits.maxInflightImageBytes),
            maxImageBytes: configuration.limits.image.maxBytes, bodyTimeout: configuration.server.bodyTimeout))
    api.add(
        middleware: IdempotencyMiddleware(
            store: IdempotencyStore(database: services.database, logger: logger),
            maxImageBytes: configuration.limits.image.maxBytes))
    AuthController(
        tokens: tokens, users: users,
        refreshTokens: RefreshTokenStore(
            database: services.database, logger: logger, reuseGrace: configuration.security.refreshReuseGrace),
        dummyHash: try await hashPassword(UUID().uuidString, cost: configuration.security.bcryptCost),
        loginLimiter: loginLimiter,
        usernameLimiter: usernameLimiter
    ).addRoutes(to: api.group("auth"))
    let organizations = OrganizationStore(database: services.database, logger: logger)
    OrganizationsController(organizations: organizations, validationPolicy: configuration.webhooks.addressPolicy)
        .addRoutes(to: api.group("organizations"))
    UsersController(
        users: users, bcryptCost: configuration.security.bcryptCost, passwordChecks: loginLimiter,
        usernameRefusals: TokenBucketLimiter(perMinute: 1, burst: share(10))
    )
    .addRoutes(to: api.group("users"))
    let pins = PINHashing(bcryptCost: configuration.security.bcryptCost)
    MembersController(model: model, checkins: CheckinStore(database: services.database, logger: logger), pins: pins)
        .addRoutes(to: api.group("members"))
    FacesController(
        model: model, sealer: configuration.security.biometricSealer, maxImageBytes: configuration.limits.image.maxBytes
    ).addRoutes(to: api.group("members"))
    MatchingController(model: model, maxImageBytes: configuration.limits.image.maxBytes).addRoutes(to: api)
    CheckinsController(
        model: model, checkins: CheckinStore(database: services.database, logger: logger),
        confirmations: CheckinConfirmationStore(database: services.database, logger: logger),
        challenges: CheckinChallengeStore(database: services.database, logger: logger), organizations: organizations,
        pins: pins, liveness: LivenessCheck(settings: configuration.checkin.liveness),
        attempts: AttemptLog(store: CheckinAttemptStore(database: services.database, logger: logger), metrics: metrics),
        codeLimiter: TokenBucketLimiter(perMinute: share(10), burst: share(5)),
        dedupSeconds: configuration.checkin.dedupSeconds, maxImageBytes: configuration.limits.image.maxBytes,
        validator: HTTPCheckinValidator(
            organizations: organizations,
            sender: try WebhookSender(
                policy: configuration.webhooks.addressPolicy,
                timeout: configuration.webhooks.validationTimeout, maxResponseBytes: 2048),
            admitOnError: configuration.webhooks.validationAdmitsOnError, logger: logger)
    ).addRoutes(to: api)
    WebhooksController(
        store: WebhookStore(database: services.database, logger: logger), policy: configuration.webhooks.addressPolicy
    ).addRoutes(to: api.group("webhooks"))
    DocsController().addRoutes(to: api)

    // Every route is in the OpenAPI document and every documented route is served, or the service does not start.
    let mismatches = OpenAPIDocument.mismatches(with: router.routes.map { ($0.method.rawValue, $0.path.description) })
    guard mismatches.isEmpty else { throw OpenAPIMismatch(routes: mismatches) }
    return router
}

/// The router and `OpenAPIDocument` disagree: a route was added or removed without updating the document.
struct OpenAPIMismatch: Error, CustomStringConvertible {
    let routes: [String]
    var description: String { "the OpenAPI document does not match the router: " + routes.joined(separator: ", ") }
}
