import FaceGateAPI
import FaceGateRuntime
import Foundation
import TestSupport
import Testing

@Suite("Configuration") struct ConfigurationTests {
    @Test("a complete environment is accepted with the documented defaults")
    func defaults() throws {
        let configuration = try AppConfiguration(
            environment: testEnvironment(databaseURL: "postgres://u:p@localhost/db"))
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 8080)
        #expect(configuration.gallery.embeddingDimensions == 128)
        #expect(configuration.limits.image.maxBytes == 10 << 20)
        #expect(configuration.limits.image.maxPixels == 40_000_000)
        #expect(configuration.engine.settings.detector == .hog)
        #expect(configuration.engine.model == .sface)
        #expect(configuration.engine.matchTolerance == nil)
        #expect(configuration.engine.targetFPIR == 0.01)
        #expect(configuration.engine.space.model == "sface")
        #expect(configuration.engine.maxWait == .milliseconds(500))
        #expect(configuration.security.refreshReuseGrace == .seconds(3))
    }

    @Test("the README's configuration table names every variable the service reads, and nothing else")
    func readmeTableMatchesTheKeys() throws {
        let readme = try String(contentsOfFile: TestEnvironment.repositoryRoot + "/README.md", encoding: .utf8)
        let section = try #require(
            readme.components(separatedBy: "## Configuration").dropFirst().first?
                .components(separatedBy: "\n## ").first)
        var documented = Set<String>()
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.dropFirst().prefix { $0 != "|" }
            let names = try NSRegularExpression(pattern: "`([A-Z][A-Z0-9_]+)`")
                .matches(in: String(firstCell), range: NSRange(firstCell.startIndex..., in: firstCell))
                .map { (String(firstCell) as NSString).substring(with: $0.range(at: 1)) }
            documented.formUnion(names)
        }
        let read = Set(AppConfiguration.variables)
        #expect(read.count > 60)
        #expect(
            read.subtracting(documented).isEmpty, "read but not in the README: \(read.subtracting(documented).sorted())"
        )
        #expect(
            documented.subtracting(read).isEmpty,
            "in the README but never read: \(documented.subtracting(read).sorted())")
    }

    @Test(
        "the tolerance is derived from FACE_MATCH_TARGET_FPIR, tighter as the gallery grows; FACE_MATCH_TOLERANCE fixes it"
    )
    func matchPolicy() throws {
        var environment = testEnvironment(databaseURL: "postgres://u:p@localhost/db")
        let derived = try AppConfiguration(environment: environment).engine.matchPolicy
        #expect(derived.targetFPIR == 0.01)
        #expect(derived.tolerance(galleryFaces: 10_000) < derived.tolerance(galleryFaces: 100))
        #expect(derived.tolerance(galleryFaces: 100) < derived.tolerance(galleryFaces: 1))
        environment["FACE_MATCH_TARGET_FPIR"] = "0.001"
        let stricter = try AppConfiguration(environment: environment).engine.matchPolicy
        #expect(stricter.tolerance(galleryFaces: 100) < derived.tolerance(galleryFaces: 100))
        environment["FACE_MATCH_TOLERANCE"] = "0.5"
        let fixed = try AppConfiguration(environment: environment).engine.matchPolicy
        #expect(fixed.targetFPIR == nil)
        #expect(fixed.tolerance(galleryFaces: 1) == 0.5 && fixed.tolerance(galleryFaces: 10_000) == 0.5)
        environment["FACE_MODEL"] = "dlib"
        environment["FACE_MATCH_TOLERANCE"] = ""
        let dlib = try AppConfiguration(environment: environment).engine
        #expect(
            dlib.space.model == "dlib_face_recognition_resnet_model_v1.dat" && dlib.space.version.hasSuffix("+flip"))
        let defaulted = try AppConfiguration(environment: testEnvironment(databaseURL: "postgres://u:p@localhost/db"))
        #expect(dlib.modelIsExplicit && !defaulted.engine.modelIsExplicit)
        // Each model's own scale: dlib's distances are an order of magnitude smaller than SFace's.
        #expect(dlib.matchPolicy.tolerance(galleryFaces: 100) < 0.2 && derived.tolerance(galleryFaces: 100) > 0.3)
        // A tolerance on another model's scale is refused: 0.5 with dlib would admit most strangers, dlib's old 0.0883
        // with SFace would match nobody.
        environment["FACE_MATCH_TOLERANCE"] = "0.5"
        #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
        environment["FACE_MATCH_TOLERANCE"] = "0.0883"
        #expect(try AppConfiguration(environment: environment).engine.matchTolerance == 0.0883)
        environment["FACE_MODEL"] = "sface"
        #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
        environment["FACE_MODEL"] = "dlib"
        environment["FACE_MATCH_TOLERANCE"] = ""
        for (name, value) in [
            ("FACE_MODEL", "facenet"), ("FACE_MATCH_TARGET_FPIR", "0"), ("FACE_MATCH_TARGET_FPIR", "x"),
        ] {
            var broken = environment
            broken[name] = value
            #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: broken) }
        }
    }

    @Test("ENGINE_MAX_WAIT_MS sets the longest expected wait for an engine; 0 turns it off; a bad value is named")
    func engineMaxWait() throws {
        var environment = testEnvironment(databaseURL: "postgres://u:p@localhost/db")
        environment["ENGINE_MAX_WAIT_MS"] = "250"
        #expect(try AppConfiguration(environment: environment).engine.maxWait == .milliseconds(250))
        environment["ENGINE_MAX_WAIT_MS"] = "0"
        #expect(try AppConfiguration(environment: environment).engine.maxWait == nil)
        environment["ENGINE_MAX_WAIT_MS"] = "-5"
        #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
    }

    @Test("every problem is listed at once, each naming its variable")
    func listsEveryProblem() {
        let environment = [
            "SECRET_KEY": "short", "BIOMETRIC_ENCRYPTION_KEY": "not base64!", "PORT": "eighty",
            "EMBEDDING_DIMENSIONS": "512", "LOG_LEVEL": "loud", "SUPER_ADMIN_USERNAME": "admin",
            "FACE_DETECTOR": "magic", "FACE_MATCH_TOLERANCE": "5", "FACE_EMBED_FLIP": "maybe",
            "ENROL_MAX_YAW_DEGREES": "120",
        ]
        do {
            _ = try AppConfiguration(environment: environment)
            Issue.record("accepted a broken configuration")
        } catch {
            let names = [
                "DATABASE_URL", "SECRET_KEY", "BIOMETRIC_ENCRYPTION_KEY", "PORT", "EMBEDDING_DIMENSIONS",
                "LOG_LEVEL", "SUPER_ADMIN_PASSWORD", "FACE_DETECTOR", "FACE_MATCH_TOLERANCE",
                "FACE_EMBED_FLIP", "ENROL_MAX_YAW_DEGREES",
            ]
            #expect(error.problems.count == names.count, "\(error.problems)")
            for name in names { #expect(error.description.contains(name), "\(name) not reported") }
        }
    }

    @Test("environment files: comments, export, quotes and CRLF")
    func environmentFile() {
        let values = EnvironmentFile.parse("# comment\r\nexport A=1\r\nB = 'two words'\nC=\"x=y\"\n\nD\n")
        #expect(values == ["A": "1", "B": "two words", "C": "x=y"])
    }

    @Test("the process environment wins over .env, which wins over .local/dev.env")
    func layering() throws {
        let folder = NSTemporaryDirectory() + "facegate-env-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/.local", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "A=dev\nB=dev\nC=dev\n".write(toFile: folder + "/.local/dev.env", atomically: true, encoding: .utf8)
        try "B=dotenv\nC=dotenv\n".write(toFile: folder + "/.env", atomically: true, encoding: .utf8)
        let merged = try EnvironmentFile.layeredEnvironment(process: ["C": "process"], directory: folder)
        #expect(merged["A"] == "dev" && merged["B"] == "dotenv" && merged["C"] == "process")
    }

    @Test("`facegate serve` with a bad configuration prints every problem and exits non-zero")
    func serveRefusesToStart() async throws {
        let binary = TestEnvironment.facegateBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the facegate product first")
        let folder = NSTemporaryDirectory() + "facegate-cwd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await ChildProcess(
            binary, arguments: ["serve"], environment: ["PATH": "/usr/bin:/bin", "SECRET_KEY": "short", "PORT": "0"],
            currentDirectory: folder
        ).run()
        #expect(result.status == 78)
        let output = result.standardError
        for name in ["DATABASE_URL", "SECRET_KEY", "BIOMETRIC_ENCRYPTION_KEY", "PORT"] {
            #expect(output.contains(name), "stderr does not name \(name): \(output)")
        }
    }
}
