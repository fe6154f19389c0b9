import Crypto
import Foundation

/// The dlib model files the engine loads, with the SHA-256 each must have (also in models/SHA256SUMS, which
/// scripts/setup checks; a test keeps the two equal).
public struct FaceModels: Sendable {
    public struct File: Sendable, Hashable {
        public let name: String
        public let sha256: String
    }

    public static let embedder = File(
        name: "dlib_face_recognition_resnet_model_v1.dat",
        sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30")
    public static let landmarks = File(
        name: "shape_predictor_5_face_landmarks.dat",
        sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888")
    public static let cnnDetector = File(
        name: "mmod_human_face_detector.dat",
        sha256: "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6")
    public static let all = [embedder, landmarks, cnnDetector]

    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func path(of file: File) -> String { directory + "/" + file.name }

    /// Checks that every model is present with the right checksum; the error names each bad file and how to fix it.
    public func verify() throws(FaceEngineError) {
        var problems: [String] = []
        for file in Self.all {
            let path = path(of: file)
            guard let handle = FileHandle(forReadingAtPath: path) else {
                problems.append("\(path) is missing")
                continue
            }
            defer { try? handle.close() }
            var hasher = SHA256()
            while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            if digest != file.sha256 { problems.append("\(path) has SHA-256 \(digest), expected \(file.sha256)") }
        }
        if !problems.isEmpty {
            throw .modelsInvalid(problems.joined(separator: "; ") + " (run scripts/setup, or set MODELS_DIR)")
        }
    }
}
