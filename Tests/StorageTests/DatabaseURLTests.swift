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

    @Test(arguments: [
        "mysql://a@b/c", "postgres://b/c", "postgres://a@b", "postgres://a@b/c?sslmode=bogus", "nonsense",
    ])
    func rejects(_ url: String) {
        #expect(throws: DatabaseURL.Invalid.self) { try DatabaseURL.configuration(from: url) }
    }

    @Test("sslmode=disable to another host is flagged; loopback or TLS is not")
    func plaintextOverNetwork() {
        #expect(DatabaseURL.isPlaintextOverNetwork("postgres://u:p@db.example:5432/f"))
        #expect(DatabaseURL.isPlaintextOverNetwork("postgres://u:p@10.0.0.5/f?sslmode=disable"))
        #expect(!DatabaseURL.isPlaintextOverNetwork("postgres://u:p@db.example/f?sslmode=require"))
        #expect(!DatabaseURL.isPlaintextOverNetwork("postgres://u:p@127.0.0.1:54329/f"))
        #expect(!DatabaseURL.isPlaintextOverNetwork("postgres://u:p@localhost/f"))
        #expect(!DatabaseURL.isPlaintextOverNetwork("postgres://u:p@[::1]/f"))
    }
}
