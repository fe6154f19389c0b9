// swift-tools-version: 6.1
import PackageDescription

// One target per pipeline stage; C and C++ only in the thin shim targets (CImageCodecs, CDlibShim, COpenCVShim,
// COpenBLAS, CVectorKernels).
let package = Package(
    name: "facegate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "facegate", targets: ["facegate"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // Pinned: facegate turns postgres-nio's keep-alive off (DatabaseURL) because in 1.33.2 a keep-alive query sent
        // on a connection the pool has just closed never completes, and PostgresClient.run() then waits for it for
        // ever at shutdown (the upstream fix "Query hangs if connection is closed" was merged and reverted). Move on
        // to a release that fixes it, re-running the shutdown tests (ShutdownTests, test_shutdown.py).
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.4.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // TLS for webhook deliveries (already in the graph through postgres-nio).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.36.0"),
    ],
    targets: [
        // Image decoding: libjpeg-turbo, libpng and libwebp behind a C shim that turns their longjmp/exit()
        // error paths into return codes; everything else (sniffing, EXIF, limits, resizing) is Swift.
        .target(
            name: "CImageCodecs",
            linkerSettings: [
                .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"), .linkedLibrary("webpdemux"),
            ]
        ),
        .target(name: "ImageDecoding", dependencies: ["CImageCodecs"]),

        // The exception boundary the C++ shims share (header only).
        .target(name: "CShimSupport"),
        // Face engine: dlib (HOG/CNN detection, 5-point landmarks, ResNet embeddings) behind an extern "C" shim.
        .target(
            name: "CDlibShim",
            dependencies: ["CShimSupport"],
            cxxSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))],
            linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("blas"), .linkedLibrary("lapack")]
        ),
        // Face engine, second model: YuNet + SFace (ONNX) through OpenCV 4.6's dnn module, behind an extern "C" shim.
        .target(
            name: "COpenCVShim",
            dependencies: ["CShimSupport"],
            cxxSettings: [.unsafeFlags(["-I/usr/include/opencv4"])],
            linkerSettings: [
                .linkedLibrary("opencv_dnn"), .linkedLibrary("opencv_imgproc"), .linkedLibrary("opencv_core"),
            ]
        ),
        .target(
            name: "FaceEngine",
            dependencies: [
                "CDlibShim", "COpenCVShim", "ImageDecoding",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Liveness: whether frames of a challenge show a live head turning the asked way (pure geometry on the
        // landmarks the face engine finds).
        .target(name: "Liveness", dependencies: ["FaceEngine", "ImageDecoding"]),

        // Storage: PostgreSQL + pgvector through postgres-nio; migrations under an advisory lock.
        .target(
            name: "Storage",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Vector search: an exact in-memory cosine index scored with OpenBLAS; knows nothing of members or SQL.
        .systemLibrary(name: "COpenBLAS"),
        // C shim: int8 × float dot-product kernels (AVX-512, AVX2 or plain C), chosen at run time by CPUID; compiled
        // for generic x86-64, never for the build machine's CPU.
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(name: "VectorSearch", dependencies: ["COpenBLAS", "CVectorKernels"]),

        // Gallery: every organisation's faces, searchable in memory and kept equal to the database; the match rule.
        .target(
            name: "Gallery",
            dependencies: [
                "Storage", "VectorSearch",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // A small RFC 4180 reader for the labelled-photo CSVs (eval, import, tests).
        .target(name: "CSV"),

        // Use cases: what the service does with a photo (enrol, check in, identify, verify, detect) and a member
        // (erase, import, export), with the rules, once; the HTTP API and the command line translate to and from them.
        .target(
            name: "UseCases",
            dependencies: [
                "FaceEngine", "Liveness", "Gallery", "Storage", "ImageDecoding", "CSV",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Webhooks: the outbox's dispatcher (signed, retried, SSRF-guarded sends over NIO), the event catalogue, and the
        // validation call asked before a check-in.
        .target(
            name: "Webhooks",
            dependencies: [
                "Storage", "UseCases",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // The service without its transport: the configuration (AppConfiguration, EngineConfiguration), the one
        // runtime per face model (FaceModelRuntime, ActiveFaceModel, RecognizerSource), biometric key rotation and
        // retention. The HTTP API and the command line are both built on it.
        .target(
            name: "FaceGateRuntime",
            dependencies: [
                "UseCases", "Liveness", "Storage", "Gallery", "FaceEngine", "ImageDecoding", "Webhooks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Passwords and PINs: bcrypt on NIO's blocking thread pool.
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // HTTP API: buildApplication, routes, controllers, auth, rate limiting, problems, the pages.
        .target(
            name: "FaceGateAPI",
            dependencies: [
                "FaceGateRuntime", "UseCases", "Liveness", "Storage", "Gallery", "FaceEngine", "ImageDecoding",
                "Webhooks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // The kiosk and admin pages (HTML, scripts, style), served by PagesController.
            resources: [.copy("Pages/Assets")]
        ),
        .executableTarget(
            name: "facegate",
            dependencies: [
                "FaceGateAPI", "FaceGateRuntime", "UseCases", "Liveness", "FaceEngine", "Gallery", "ImageDecoding",
                "Storage", "CSV",
                "VectorSearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The HTTP load generator of `facegate bench load`.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // Helpers the test targets share: the test database, private clusters, the face photos.
        .target(
            name: "TestSupport",
            dependencies: [
                "Storage", "CSV", "FaceEngine", "ImageDecoding", .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ImageDecodingTests", dependencies: ["ImageDecoding", "TestSupport"]),
        .testTarget(
            name: "VectorSearchTests",
            dependencies: ["VectorSearch", "FaceEngine", "ImageDecoding", "TestSupport"]
        ),
        .testTarget(name: "FaceEngineTests", dependencies: ["FaceEngine", "ImageDecoding", "TestSupport"]),
        .testTarget(name: "LivenessTests", dependencies: ["Liveness", "FaceEngine", "ImageDecoding", "TestSupport"]),
        .testTarget(
            name: "GalleryTests",
            dependencies: [
                "Gallery", "Storage", "FaceEngine", "ImageDecoding", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The use cases' own decisions, without a database (the import's order).
        .testTarget(name: "UseCasesTests", dependencies: ["UseCases", "TestSupport"]),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "FaceGateAPITests",
            dependencies: [
                "FaceGateAPI", "FaceGateRuntime", "UseCases", "Liveness", "FaceEngine", "Gallery", "Storage",
                "TestSupport",
                "Webhooks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // The facegate executable run as a user runs it (it must be built: `swift test` builds every product).
        .testTarget(name: "CommandLineTests", dependencies: ["CSV", "TestSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
