import FaceEngine
import Gallery
import Storage

/// Where faces are searched, and how often the copy in memory is compared with the database.
public struct GallerySettings: Sendable {
    /// `SEARCH_BACKEND`: the in-memory index (`memory`, default) or pgvector (`pgvector`: HNSW; `pgvector_exact`).
    public var searchBackend = SearchBackend.memory
    /// `HNSW_EF_SEARCH`: pgvector's `hnsw.ef_search` for the `pgvector` backend (higher: better recall, slower).
    public var hnswEfSearch = 100
    /// `GALLERY_CHECK_SECONDS`: how often the in-memory index is compared with the database.
    public var checkInterval: Duration = .seconds(60)
    /// `EMBEDDING_DIMENSIONS` (default: the face model's): the width of the stored vectors, which must be the model's.
    public var embeddingDimensions = Migration.embeddingDimensions

    public init() {}

    mutating func read(_ reader: inout ConfigurationReader, model: FaceModelDescriptor) {
        reader.read("SEARCH_BACKEND", &searchBackend)
        reader.read("HNSW_EF_SEARCH", &hnswEfSearch, in: 1...1000)
        reader.read("GALLERY_CHECK_SECONDS", &checkInterval, unit: .seconds(1), in: 1...86_400)
        embeddingDimensions = model.dimension
        reader.read("EMBEDDING_DIMENSIONS", &embeddingDimensions, in: 1...4096)
        if embeddingDimensions != model.dimension {
            reader.problem(
                "EMBEDDING_DIMENSIONS is \(embeddingDimensions) but the face model produces \(model.dimension)")
        }
    }
}
