import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs `app` until SIGTERM or SIGINT, then ends within `shutdownTimeout` whatever a dependency does: the server stops
/// accepting and lets in-flight requests finish, the gallery sync and the database client stop (the graceful part,
/// four fifths of the bound); what still runs then is cancelled; and if the process has still not finished at the
/// bound, it logs that and exits anyway (status 1), instead of waiting for a task that may never return.
public func runUntilStopped(_ app: some ApplicationProtocol, shutdownTimeout: Duration, logger: Logger) async throws {
    var configuration = ServiceGroupConfiguration(
        services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = shutdownTimeout * 4 / 5
    // No escalation to a crash: the watchdog below ends the process at the bound.
    configuration.maximumCancellationDuration = nil
    let watchdog = Task {
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            logger.notice("shutting down", metadata: ["signal": "\(signal)", "bound": "\(shutdownTimeout)"])
            do { try await Task.sleep(for: shutdownTimeout) } catch { return }  // cancelled: shut down in time
            logger.critical(
                "shutdown did not finish within \(shutdownTimeout) (SHUTDOWN_TIMEOUT_SECONDS); exiting anyway")
            exit(1)
        }
    }
    defer { watchdog.cancel() }
    try await ServiceGroup(configuration: configuration).run()
}
