import Logging
import PostgresNIO

/// A scratch table of random vectors for `facegate bench search`: made by the database itself from a seed (no
/// client-side literals), searched exactly and through an HNSW index, and dropped afterwards.
struct SyntheticVectorTable: Sendable {
    public let client: PostgresClient
    public let name: String
    public let dimension: Int
    let logger: Logger

    public init(client: PostgresClient, dimension: Int, logger: Logger) {
        self.client = client
        self.dimension = dimension
        self.logger = logger
        name = "bench_vectors_\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Creates the (unlogged) table with `rows` random vectors, uniform in −1…1 per component.
    public func create(rows: Int, seed: Double) async throws {
        try await client.query("CREATE EXTENSION IF NOT EXISTS vector", logger: logger)
        try await client.query(
            PostgresQuery(
                unsafeSQL:
                    "CREATE UNLOGGED TABLE \(name) (id integer PRIMARY KEY, embedding vector(\(dimension)) NOT NULL)"),
            logger: logger)
        try await client.withConnection { connection in
            try await connection.query("SELECT setseed(\(seed))", logger: logger)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(name)
                        SELECT i, \(Self.randomVector(dimension: dimension, perRowOf: "i")) FROM generate_series(1, \(rows)) i
                        """), logger: logger)
        }
    }

    /// SQL for a random vector, uniform in −1…1 per component, drawn anew for every row: the subquery names
    /// `column` of the outer row, so the planner cannot evaluate it once for the whole statement.
    static func randomVector(dimension: Int, perRowOf column: String) -> String {
        "(SELECT array_agg(random() * 2 - 1) FROM generate_series(1, \(dimension)) d WHERE \(column) IS NOT NULL)::vector"
    }

    /// Streams every row as `(id, embedding::real[])`, the way the gallery loads its index.
    public func forEachRow(_ body: (Int, [Float]) throws -> Void) async throws {
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "SELECT id, embedding::real[] FROM \(name)"), logger: logger)
        for try await (id, embedding) in rows.decode((Int, [Float]).self) { try body(id, embedding) }
    }

    /// The `k` nearest rows and their cosine distances. Without an HNSW index this is pgvector's exact scan.
    public func nearest(_ query: [Float], k: Int, efSearch: Int? = nil) async throws -> [(id: Int, distance: Double)] {
        var binds = PostgresBindings()
        binds.append(query)
        let search = PostgresQuery(
            unsafeSQL: """
                SELECT id, embedding <=> $1::real[]::vector FROM \(name) ORDER BY embedding <=> $1::real[]::vector LIMIT \(k)
                """, binds: binds)
        return try await client.withConnection { connection in
            if let efSearch {
                try await connection.query(
                    "SELECT set_config('hnsw.ef_search', \(String(efSearch)), false)", logger: logger)
            }
            var found: [(id: Int, distance: Double)] = []
            for try await (id, distance) in try await connection.query(search, logger: logger).decode(
                (Int, Double).self)
            {
                found.append((id, distance))
            }
            return found
        }
    }

    /// Builds pgvector's HNSW index (`vector_cosine_ops`, default m and ef_construction) with
    /// `maintenanceWorkMemory` for the build: a graph that outgrows it is finished on disk, many times slower.
    public func createHNSWIndex(maintenanceWorkMemory: String = "2GB") async throws {
        try await client.withConnection { connection in
            try await connection.query(
                "SELECT set_config('maintenance_work_mem', \(maintenanceWorkMemory), false)", logger: logger)
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE INDEX ON \(name) USING hnsw (embedding vector_cosine_ops)"),
                logger: logger)
        }
    }

    public func drop() async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"), logger: logger)
    }
}
