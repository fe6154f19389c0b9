import Logging
import ServiceLifecycle
import Storage

/// Purges what is past its time (`Retention`) a minute after start and then every `interval`, for as long as the
/// service runs; a failed purge (database away) is logged and tried again at the next turn.
public struct RetentionService: Service {
    let retention: Retention
    let database: Database
    let interval: Duration
    let logger: Logger

    public init(retention: Retention, database: Database, interval: Duration, logger: Logger) {
        self.retention = retention
        self.database = database
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var wait: Duration = .seconds(60)
            while true {
                do { try await Task.sleep(for: wait) } catch { return }
                wait = interval
                do {
                    let purged = try await retention.purge(database, logger: logger)
                    if !purged.isEmpty {
                        logger.notice(
                            "retention: purged",
                            metadata: [
                                "refresh_tokens": "\(purged.refreshTokens)", "audit_entries": "\(purged.auditEntries)",
                                "checkins": "\(purged.checkins)", "checkin_attempts": "\(purged.attempts)",
                                "webhook_events": "\(purged.webhookEvents)",
                            ])
                    }
                } catch {
                    logger.warning(
                        "retention: purge failed; next turn in \(interval)",
                        metadata: [
                            "error": "\(loggedDescription(of: error))"
                        ])
                }
            }
        }
    }
}
