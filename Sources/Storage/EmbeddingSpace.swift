/// The model and version that made an embedding (`faces.model`, `faces.model_version`): embeddings of different
/// spaces are never compared.
public struct EmbeddingSpace: Sendable, Hashable, CustomStringConvertible {
    public var model: String
    public var version: String

    public init(model: String, version: String) {
        self.model = model
        self.version = version
    }

    public var description: String { "\(model) \(version)" }
}
