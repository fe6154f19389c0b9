import FaceEngine
import Foundation
import Gallery
import Storage
import UseCases

/// The face-engine part of the configuration: all that the service's engines and `facegate eval`/`bench` need,
/// with no database or secrets, so those commands run from the same variables as the service.
public struct EngineConfiguration: Sendable {
    /// `FACE_MODEL`: which face model finds and embeds faces (`sface` by default, or `dlib`).
    public var model: FaceModelKind
    /// Whether `FACE_MODEL` was set: a service that defaults to SFace over a database holding only another model's
    /// faces refuses to start instead of matching nobody (`checkModelAgainstGallery`).
    public var modelIsExplicit = false
    /// `MODELS_DIR`: folder of the model files (checked against models/SHA256SUMS at start).
    public var modelsDirectory: String
    /// `FACE_DETECT_MAX_SIDE` and `FACE_EMBED_FLIP` (both models); dlib only: `FACE_DETECTOR`, `FACE_DETECT_UPSAMPLE`,
    /// `FACE_DETECT_HOG_THRESHOLD`, `FACE_DETECT_ROTATIONS`, `FACE_DETECT_FINE_MAX_SIDE`, `FACE_DETECT_CNN_FALLBACK`.
    public var settings: FaceEngineSettings
    /// `ENGINE_WORKERS`: face engines running at once (one per core by default).
    public var workers: Int
    /// `ENGINE_QUEUE_LIMIT`: requests allowed to wait for an engine before new ones get 503.
    public var queueLimit: Int
    /// `ENGINE_MAX_WAIT_MS`: a request whose expected wait for an engine is longer gets 503 at once (0: no such
    /// limit, only `queueLimit`).
    public var maxWait: Duration?
    /// `FACE_MATCH_TOLERANCE`: when set, the largest cosine distance (1 − cosine similarity, pgvector's `<=>`) that
    /// counts as the same person, whatever the gallery's size. The one meaning of "tolerance" everywhere.
    public var matchTolerance: Float?
    /// `FACE_MATCH_TARGET_FPIR`: the share of strangers the service may admit as somebody (0.01 by default); the
    /// tolerance is derived from it for each organisation's gallery (`MatchPolicy`) unless `matchTolerance` is set.
    public var targetFPIR: Double
    /// `FACE_MATCH_MARGIN`: the nearest other member must be at least this much farther than the best, or nobody
    /// is matched (0: off; measured not to help on shared/faces, README "Accuracy").
    public var matchMargin: Float
    /// `FACE_CONFIRM_TARGET_FAR`: the false-match rate allowed per comparison when a face is compared with one
    /// member only — a member number typed at the kiosk, or a candidate of the PIN band whom their PIN then confirms
    /// (`MatchPolicy.confirmation`); 0 turns both off.
    public var confirmTargetFAR: Double = defaultConfirmTargetFAR
    /// `ENROL_*`: quality gates for enrolment photos.
    public var enrolmentGate: EnrolmentGate

    public static let defaultTargetFPIR = 0.01
    /// Chosen by measurement (README "Accuracy", the PIN band): members the face alone cannot place come in with
    /// their PIN, while a stranger sent to the PIN pad still has to guess a PIN.
    public static let defaultConfirmTargetFAR = 0.001
    /// The most a fixed `FACE_MATCH_TOLERANCE` may admit per comparison of two different people, and the least
    /// (below it, far past the measured curve, members would not match either).
    public static let maxFixedFalseMatchRate = 0.05
    public static let minFixedFalseMatchRate = 1e-9

    /// The active model: name, version (stored on every face), embedding size, false-match curve.
    public var descriptor: FaceModelDescriptor { model.descriptor(settings: settings) }

    /// What made the stored embeddings (`faces.model`, `faces.model_version`): the only faces searches compare.
    public var space: EmbeddingSpace { descriptor.space }

    /// How every search result is judged.
    public var matchPolicy: MatchPolicy { matchPolicy(for: descriptor) }

    /// How the results of `model`'s searches are judged: its false-match curve under these settings.
    public func matchPolicy(for model: FaceModelDescriptor) -> MatchPolicy {
        MatchPolicy(
            tolerance: matchTolerance.map { .fixed($0) } ?? .targetFPIR(targetFPIR, model.falseMatches),
            margin: matchMargin,
            confirmation: confirmTargetFAR > 0
                ? .init(falseMatchRate: confirmTargetFAR, curve: model.falseMatches) : nil)
    }

    /// Why `matchTolerance` cannot be used with `model`, nil when it can (or is not set). A fixed tolerance is on the
    /// model's own scale (SFace's distances are about ten times dlib's): one that admits more than one impostor
    /// comparison in twenty, or that is far stricter than anything measured (no member would match), is a tolerance
    /// for another model, or a mistake.
    public var fixedToleranceProblem: String? {
        guard let tolerance = matchTolerance else { return nil }
        let rate = descriptor.falseMatches.falseMatchRate(at: tolerance)
        if rate > Self.maxFixedFalseMatchRate {
            return """
                FACE_MATCH_TOLERANCE=\(tolerance) admits \(Int((rate * 100).rounded())) % of comparisons between different \
                people with FACE_MODEL=\(model.rawValue) (tolerances are on each model's own scale); unset it to derive the \
                tolerance from FACE_MATCH_TARGET_FPIR
                """
        }
        if rate < Self.minFixedFalseMatchRate {
            return """
                FACE_MATCH_TOLERANCE=\(tolerance) is so strict for FACE_MODEL=\(model.rawValue) that members would not match \
                (tolerances are on each model's own scale); unset it to derive the tolerance from FACE_MATCH_TARGET_FPIR
                """
        }
        return nil
    }

    /// The same configuration running `other`: its detection and embedding defaults, and its enrolment gate unless
    /// the operator set one (`ENROL_*`).
    public func switched(to other: FaceModelKind) -> EngineConfiguration {
        var switched = self
        switched.model = other
        if enrolmentGate == EnrolmentGate(model: model) { switched.enrolmentGate = EnrolmentGate(model: other) }
        return switched
    }

    /// This configuration running the model that makes `space` (one activated in the database), with that model's
    /// defaults (`switched(to:)`); nil when no model of this build makes it.
    public func running(_ space: EmbeddingSpace) -> EngineConfiguration? {
        FaceModelKind.allCases.map { switched(to: $0) }.first { $0.space == space }
    }

    /// Checks the active model's files against their checksums.
    public func verifyModels() throws(FaceEngineError) {
        try FaceModels(directory: modelsDirectory).verify(descriptor.files)
    }

    public init(
        model: FaceModelKind = .sface, modelsDirectory: String = "models", settings: FaceEngineSettings = .init(),
        workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount), queueLimit: Int = 64,
        maxWait: Duration? = .milliseconds(500), matchTolerance: Float? = nil, targetFPIR: Double = defaultTargetFPIR,
        matchMargin: Float = 0, enrolmentGate: EnrolmentGate? = nil
    ) {
        self.model = model
        self.modelsDirectory = modelsDirectory
        self.settings = settings
        self.workers = workers
        self.queueLimit = queueLimit
        self.maxWait = maxWait
        self.matchTolerance = matchTolerance
        self.targetFPIR = targetFPIR
        self.matchMargin = matchMargin
        self.enrolmentGate = enrolmentGate ?? EnrolmentGate(model: model)
    }

    /// Validates the engine variables of `environment`, listing every problem at once.
    public init(environment: [String: String]) throws(ConfigurationError) {
        var reader = ConfigurationReader(environment)
        guard let configuration = reader.engineConfiguration(), reader.problems.isEmpty else {
            throw ConfigurationError(problems: reader.problems)
        }
        self = configuration
    }
}

extension ConfigurationReader {
    /// The engine section: each variable read into the defaults of `EngineConfiguration()` (the enrolment gate's are
    /// the model's), nil with a problem when one is invalid.
    mutating func engineConfiguration() -> EngineConfiguration? {
        let problemsBefore = problems.count
        var engine = EngineConfiguration()
        read("FACE_DETECTOR", &engine.settings.detector)
        read("FACE_MODEL", &engine.model)
        engine.modelIsExplicit = value("FACE_MODEL") != nil
        engine.enrolmentGate = EnrolmentGate(model: engine.model)
        read("MODELS_DIR", &engine.modelsDirectory)
        // Unset: the model's own (FaceModelKind.defaultDetectMaxSide).
        if value("FACE_DETECT_MAX_SIDE") != nil, let side = integer("FACE_DETECT_MAX_SIDE", default: 0, in: 80...8192) {
            engine.settings.detectMaxSide = side
        }
        read("FACE_DETECT_UPSAMPLE", &engine.settings.upsample, in: 0...2)
        read("FACE_DETECT_CNN_FALLBACK", &engine.settings.cnnFallback)
        read("FACE_DETECT_HOG_THRESHOLD", &engine.settings.hogThreshold, in: -1...3)
        read("FACE_DETECT_ROTATIONS", &engine.settings.rotationFallback)
        read("FACE_DETECT_FINE_MAX_SIDE", &engine.settings.fineMaxSide, in: 0...8192)
        read("FACE_EMBED_FLIP", &engine.settings.flipAugmentation)
        read("ENROL_MIN_FACE_PIXELS", &engine.enrolmentGate.minFaceSize, in: 20...4096)
        read("ENROL_MIN_SHARPNESS", &engine.enrolmentGate.minSharpness, in: 0...100_000)
        read("ENROL_MAX_YAW_DEGREES", &engine.enrolmentGate.maxYaw, in: 0...90)
        read("ENROL_MAX_ROLL_DEGREES", &engine.enrolmentGate.maxRoll, in: 0...180)
        read("ENROL_ALLOW_MULTIPLE_FACES", &engine.enrolmentGate.allowMultipleFaces)
        read("ENGINE_WORKERS", &engine.workers, in: 1...256)
        read("ENGINE_QUEUE_LIMIT", &engine.queueLimit, in: 0...100_000)
        var maxWait = engine.maxWait ?? .zero
        read("ENGINE_MAX_WAIT_MS", &maxWait, unit: .milliseconds(1), in: 0...600_000)
        engine.maxWait = maxWait == .zero ? nil : maxWait
        // Unset (or empty): derived from FACE_MATCH_TARGET_FPIR.
        if value("FACE_MATCH_TOLERANCE") != nil, let tolerance = number("FACE_MATCH_TOLERANCE", default: 0, in: 0...2) {
            engine.matchTolerance = Float(tolerance)
        }
        read("FACE_MATCH_TARGET_FPIR", &engine.targetFPIR, in: 0.000001...0.5)
        var margin = Double(engine.matchMargin)
        read("FACE_MATCH_MARGIN", &margin, in: 0...1)
        engine.matchMargin = Float(margin)
        read("FACE_CONFIRM_TARGET_FAR", &engine.confirmTargetFAR, in: 0...0.05)
        guard problems.count == problemsBefore else { return nil }
        if let problem = engine.fixedToleranceProblem {
            self.problem(problem)
            return nil
        }
        return engine
    }
}
