import FaceEngine
import Foundation
import ImageDecoding
import TestSupport

/// dlib embeddings of the largest face in the first LFW photos of the shared set (one per photo, in file order).
enum RealEmbeddings {
    static func load(photos count: Int) async throws -> [[Float]] {
        let engine = try DlibRecognizer(models: FaceModels(directory: TestEnvironment.modelsDirectory))
        let decoder = ImageDecoder()
        let root = TestEnvironment.facesRoot + "/lfw/images"
        var files: [String] = []
        for person in try FileManager.default.contentsOfDirectory(atPath: root).sorted() where files.count < count {
            for file in try FileManager.default.contentsOfDirectory(atPath: root + "/" + person).sorted() {
                files.append("lfw/images/\(person)/\(file)")
            }
        }
        return try files.prefix(count).compactMap { path in
            try engine.faceEncodings(in: decoder.decode(TestEnvironment.photo(path)), limit: 1).first?.embedding
        }
    }
}
