import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with posix_spawn and a blocking waitpid on a GCD thread, so tests never block
/// Swift's cooperative pool (two threads on a two-core machine). Not Foundation.Process: its SIGCHLD-driven
/// reaping was seen to miss a child that had exited, leaving waitUntilExit hung on a zombie.
public struct ChildProcess: Sendable {
    public struct Result: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let executable: String
        public let code: Int32
        public var description: String { "cannot run \(executable): \(String(cString: strerror(code)))" }
    }

    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    public var currentDirectory: String?
    /// A child still running this long after it started is killed (SIGKILL, status 137): a test fails, never hangs.
    public var timeLimit: Duration

    public init(
        _ executable: String, arguments: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment, currentDirectory: String? = nil,
        timeLimit: Duration = .seconds(600)
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.timeLimit = timeLimit
    }

    public func run() async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try runBlocking() }) }
        }
    }

    /// Output goes to temporary files rather than pipes, so a chatty child can never fill a pipe and stall.
    private func runBlocking() throws -> Result {
        let outputPath = NSTemporaryDirectory() + "facegate-child-\(UUID().uuidString)"
        let errorPath = outputPath + ".err"
        defer {
            unlink(outputPath)
            unlink(errorPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Glibc's posix_spawn_file_actions_addchdir_np is not visible to Swift: let a shell change directory.
        let command =
            currentDirectory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] }
            ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else { throw SpawnError(executable: executable, code: spawned) }
        let limit = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(timeLimit / .milliseconds(1))), execute: limit)
        defer { limit.cancel() }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS; a child killed by a signal reports 128 + the signal, as shells do.
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        func read(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return Result(status: exitStatus, standardOutput: read(outputPath), standardError: read(errorPath))
    }
}
