import FaceEngine
import FaceGateRuntime
import Foundation
import Gallery
import Hummingbird
import ImageDecoding
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage
import Webhooks

/// Builds the whole service from a validated configuration: the face engines, the PostgreSQL client and the gallery
/// sync (run as services), migrations and the super admin before the server accepts connections, and the routes
/// (`buildRouter`). Tests call this directly.
public func buildApplication(
    _ configuration: AppConfiguration, logger baseLogger: Logger? = nil, recognizers: RecognizerSource = .modelFiles
) async throws -> some ApplicationProtocol {
    let logger = {
        var logger = baseLogger ?? Logger(label: "facegate")
        logger.logLevel = configuration.server.logLevel
        return logger
    }()

    if DatabaseURL.isPlaintextOverNetwork(configuration.database.url) {
        logger.warning(
            "DATABASE_URL reaches a database on another host with sslmode=disable: passwords and biometric data cross the network unencrypted; use sslmode=require or verify-full"
        )
    }
    var postgresConfiguration = try DatabaseURL.configuration(from: configuration.database.url)
    // DATABASE_STATEMENT_TIMEOUT_MS on the server too, for every session of the service: PostgreSQL cancels a
    // statement that outlasts it, and ends a session left idle in a transaction that long, so that what the client
    // has given up on (closing its connection, which a backend waiting for a lock does not notice) does not run on.
    // Work off the request path that may take longer lifts both for its own transaction (migrations, gallery loads,
    // retention: `Database.offRequestPath`).
    // A session idle inside a transaction (its client stalled or gone, holding locks) ends after a minute, or the
    // statement bound when that is longer: the service's own transactions are short, but a loaded machine can be
    // slow between two statements of one.
    let statementBound = Int(configuration.database.statementTimeout / .milliseconds(1))
    postgresConfiguration.options.additionalStartupParameters = [
        ("statement_timeout", String(statementBound)),
        ("idle_in_transaction_session_timeout", String(max(statementBound, 60_000))),
    ]
    let postgres = PostgresClient(configuration: postgresConfiguration, backgroundLogger: logger)
    let database = Database(
        client: postgres, connectionWait: configuration.database.connectionWait,
        statementTimeout: configuration.database.statementTimeout)
    let metrics = ServiceMetrics()
    // The engines, stores and gallery of one face model: `FACE_MODEL`'s at first, the activated one's after a switch.
    // Searches, loads and checks see that model's faces only: never one model's probe against another's gallery.
    let makeRuntime: @Sendable (EngineConfiguration) throws -> FaceModelRuntime = { engine in
        try FaceModelRuntime(
            engine, recognizers: recognizers, configuration: configuration, database: database,
            logger: logger, timings: metrics)
    }
    let model = ActiveFaceModel(
        initial: try makeRuntime(configuration.engine),
        activations: ModelActivationStore(database: database, logger: logger), logger: logger, make: makeRuntime)
    // Loads the index once the schema exists (it retries until then), then follows the database.
    let gallerySync = GallerySync(
        source: model, client: postgres, checkInterval: configuration.gallery.checkInterval, logger: logger)
    let users = UserStore(database: database, logger: logger)

    let router = try await buildRouter(
        AppServices(
            configuration: configuration, logger: logger, postgres: postgres, database: database, model: model,
            metrics: metrics, users: users))

    let webhookSender = try WebhookSender(policy: configuration.webhooks.addressPolicy)
    var app = Application(
        router: router,
        server: .http1(
            configuration: .init(
                idleTimeout: .milliseconds(Int64(configuration.server.idleTimeout / .milliseconds(1))))),
        configuration: .init(
            address: .hostname(configuration.server.host, port: configuration.server.port), serverName: "facegate"),
        services: [
            postgres, gallerySync,
            WebhookDispatcher(
                store: WebhookStore(database: database, logger: logger), sender: webhookSender,
                settings: .init(
                    retryWindow: configuration.webhooks.retryWindow,
                    initialBackoff: configuration.webhooks.initialBackoff),
                observer: metrics,
                busy: {
                    let engines = model.current.engines
                    return engines.busyEngines > 0 || engines.queueDepth > 0
                }, logger: logger),
            // Its batches may take longer than a request's statement bound on a large backlog.
            RetentionService(
                retention: configuration.retention,
                database: Database(client: postgres, connectionWait: configuration.database.connectionWait),
                interval: .seconds(3600), logger: logger),
        ],
        logger: logger)
    app.beforeServerStarts {
        try await Migrator().migrate(postgres, logger: logger)
        if let width = try await model.current.faces.embeddingColumnDimensions(),
            width != configuration.gallery.embeddingDimensions
        {
            throw StorageError.embeddingWidthMismatch(column: width, model: configuration.gallery.embeddingDimensions)
        }
        var superAdminHash: String?
        if let superAdmin = configuration.security.superAdmin {
            superAdminHash = try await hashPassword(superAdmin.password, cost: configuration.security.bcryptCost)
        }
        try await users.ensureSuperAdmin(configuration.security.superAdmin, passwordHash: superAdminHash)
        // A model activated while the service ran wins over FACE_MODEL; loaded (with its gallery) before serving.
        await gallerySync.followModelActivation()
        if model.current.engine.model != configuration.engine.model {
            logger.warning(
                "FACE_MODEL is not the face model activated in the database; running the activated one",
                metadata: [
                    "face_model": "\(configuration.engine.model.rawValue)", "activated": "\(model.current.space)",
                ])
        } else {
            try await checkModelAgainstGallery(model.current, activated: model.activation.activated, logger: logger)
        }
        let faces = model.current.faces
        // One pass over the faces: the keys in use and what is not yet under the current one.
        let (byKey, plainDigests) = try await faces.keyCounts()
        for case let key? in byKey.keys where !faces.templates.keyIDs.contains(key) {
            logger.error(
                "face templates are stored under a key this instance does not have: it is not ready until restarted with it in BIOMETRIC_ENCRYPTION_KEY or BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS",
                metadata: ["key_id": "\(key)"])
            model.current.gallery.noteUnknownTemplateKey(key)
        }
        let notUnderKey = byKey.filter { $0.key != faces.templates.currentID }.values.reduce(0, +)
        if notUnderKey > 0 {
            logger.warning(
                "face templates not under BIOMETRIC_ENCRYPTION_KEY (stored plain before templates were protected, or under a previous key): run `facegate keys rotate`",
                metadata: [
                    "templates": "\(notUnderKey)"
                ])
        }
        if plainDigests > 0 {
            logger.warning(
                "photo digests stored as the photos' plain SHA-256 (before digests were keyed): run `facegate keys rotate`",
                metadata: [
                    "faces": "\(plainDigests)"
                ])
        }
    }
    return app
}

/// Faces made by another model (or version) are not searched: members enrolled with it are not recognised until
/// their faces are re-embedded or re-registered. Says so at start, with the command; and refuses to start when the
/// model was not chosen (`FACE_MODEL` unset, the SFace default) but the database holds faces only of another: an
/// upgraded deployment would otherwise match nobody.
func checkModelAgainstGallery(_ runtime: FaceModelRuntime, activated: EmbeddingSpace?, logger: Logger) async throws {
    let counts = try await runtime.faces.countsBySpace()
    let active = runtime.space
    let others = counts.filter { $0.key != active }
    guard !others.isEmpty else { return }
    if !runtime.engine.modelIsExplicit && activated != active && (counts[active] ?? 0) == 0 {
        throw ModelMismatch(active: active, others: others)
    }
    let listed = others.sorted { $0.key.description < $1.key.description }.map { "\($0.value) of \($0.key)" }
    logger.warning(
        "faces of another face model are not searched: re-embed them with `facegate faces reembed --model \(runtime.engine.model.rawValue)` or register the members again",
        metadata: [
            "active": "\(active)", "other_faces": "\(listed.joined(separator: ", "))",
        ])
}

/// The database holds faces only of models other than the default one, and `FACE_MODEL` is not set.
struct ModelMismatch: Error, CustomStringConvertible {
    let active: EmbeddingSpace
    let others: [EmbeddingSpace: Int]

    var description: String {
        let listed = others.sorted { $0.key.description < $1.key.description }.map { "\($0.value) faces of \($0.key)" }
        return """
            the database holds \(listed.joined(separator: ", ")) and none of the default face model (\(active)), which \
            would match nobody: set FACE_MODEL=dlib to keep matching with the enrolled faces, or run \
            `facegate faces reembed --model sface` and then set FACE_MODEL=sface (README, "Face models")
            """
    }
}
