import ArgumentParser
import Foundation
import Storage

/// `facegate bench templates`: what storing templates under a keyed rotation costs: deriving a key's rotation for an
/// organisation (once per key and organisation in a process), storing an embedding as a template (each enrolment; each pgvector search, once per key present) and
/// reading one back (each face a gallery loads).
struct BenchTemplatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates",
        abstract: "Cost of the template rotation per vector and per key; last stdout line is JSON.")

    @Option(help: "Vectors per timed run.") var vectors = 10_000
    @Option(help: "Embedding width.") var dimensions = 128

    func run() async throws {
        var random = SystemRandomNumberGenerator()
        let keys = (0..<5).map { _ in (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) } }
        var next = 0
        let organization = UUID()
        let probe = [Float](repeating: 1, count: dimensions)
        let derivation = Stopwatch(warmUp: 0, minRuns: 5, maxRuns: 5, minSeconds: 0).median {
            // A new key each run: derived rotations are kept per process.
            _ = try? TemplateKeys(key: keys[next], dimensions: dimensions).template(
                of: probe, organization: organization)
            next += 1
        }
        let templates = TemplateKeys(key: keys[0], dimensions: dimensions)
        let embeddings = (0..<vectors).map { _ in (0..<dimensions).map { _ in Float.random(in: -1...1, using: &random) }
        }
        let stored = try embeddings.map { try templates.template(of: $0, organization: organization) }
        let apply = try Stopwatch().median {
            for embedding in embeddings { _ = try templates.template(of: embedding, organization: organization) }
        }
        let invert = try Stopwatch().median {
            for template in stored {
                _ = try templates.embedding(of: template, under: templates.currentID, organization: organization)
            }
        }
        let perVector = { (seconds: Double) in seconds / Double(vectors) * 1e6 }
        print(
            String(
                format:
                    "derive a key's rotation for an organisation: %.1f ms; store a template: %.2f µs; read one back: %.2f µs (%d-d)",
                derivation * 1000, perVector(apply), perVector(invert), dimensions))
        print(
            String(format: "a gallery load of 1,000,000 faces spends %.1f s reading templates back", perVector(invert)))
        try printJSON([
            "dimensions": dimensions, "derive_ms": rounded(derivation * 1000, 2),
            "store_us": rounded(perVector(apply), 3), "read_us": rounded(perVector(invert), 3),
        ])
    }
}
