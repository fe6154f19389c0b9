import FaceEngine
import Storage

extension FaceModelDescriptor {
    /// The `faces.model` and `faces.model_version` of this model's faces.
    public var space: EmbeddingSpace { EmbeddingSpace(model: storedName, version: version) }
}
