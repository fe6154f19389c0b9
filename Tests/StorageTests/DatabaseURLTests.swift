import Storage
import Testing

@Suite("DATABASE_URL parsing") struct DatabaseURLTests {
    @Test func parsesHostPortUserDatabase() throws {
        let configuration = try DatabaseURL.configuration(from: "postgres://app:s%40cret@db.example:6543/faces")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "app")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "faces")
    }

    @Test(arguments: ["mysql://a@b/c", "postgres://b/c", "postgres://a@b", "postgres://a@b/c?sslmode=bogus", "nonsense"])
    func rejects(_ url: String) {
        #expect(throws: DatabaseURL.Invalid.self) { try DatabaseURL.configuration(from: url) }
    }
}
