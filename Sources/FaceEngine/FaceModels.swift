import Crypto
import Foundation

/// The model files the recognizers load, with the SHA-256 each must have (also in models/SHA256SUMS, which
/// scripts/setup checks; a test keeps the two equal). Each recognizer's descriptor lists the files it needs.
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
    /// YuNet 2023mar converted to fp32 by scripts/convert-onnx-model.py (OpenCV 4.6 cannot read the int8 original).
    public static let yunet = File(
        name: "face_detection_yunet_2023mar_fp32.onnx",
        sha256: "ef8e3fd496c42c0917ba7680532f37ed20a3aba15aeda8179b9345713cb0dcb6")
    /// SFace 2021dec converted to fp32 by scripts/convert-onnx-model.py.
    public static let sface = File(
        name: "face_recognition_sface_2021dec_fp32.onnx",
        sha256: "61687e5468b84dbeba8709d721df79915e3bd6487fc3ca1b7bdae123966d5b73")
    public static let all = [embedder, landmarks, cnnDetector, yunet, sface]

    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func path(of file: File) -> String { directory + "/" + file.name }

    /// Checks that every file (by default every model's) is present with the right checksum; the error names each bad
    /// file and how to fix it.
    public func verify(_ files: [File] = Self.all) throws(FaceEngineError) {
        var problems: [String] = []
        for file in files {
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
