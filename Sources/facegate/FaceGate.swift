import ArgumentParser

@main
struct FaceGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "facegate",
        abstract: "Self-hosted face matching: registration, 1:N check-in and benchmarks.",
        subcommands: [ServeCommand.self, MigrateCommand.self, EvalCommand.self, BenchCommand.self])
}
