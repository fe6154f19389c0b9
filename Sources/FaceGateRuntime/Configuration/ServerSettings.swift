import Foundation
import Logging

/// Where the HTTP server listens, how long it waits for clients, and whom it believes about client addresses.
public struct ServerSettings: Sendable {
    /// `HOST` and `PORT`: where the HTTP server listens.
    public var host = "127.0.0.1"
    public var port = 8080
    /// `LOG_LEVEL`: trace, debug, info, notice, warning, error or critical.
    public var logLevel: Logger.Level = .info
    /// `HTTP_IDLE_TIMEOUT_SECONDS`: a connection that sends nothing new for this long — idle between requests, or
    /// stalled in a request's head or between parts of its body — is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// `REQUEST_BODY_TIMEOUT_SECONDS`: a request's whole body must arrive within this (408 `body_timeout`).
    public var bodyTimeout: Duration = .seconds(30)
    /// `SHUTDOWN_TIMEOUT_SECONDS`: after SIGTERM or SIGINT the service stops accepting, lets in-flight requests finish
    /// and closes its database client; whatever has not finished by then is abandoned and the process exits.
    public var shutdownTimeout: Duration = .seconds(10)
    /// `ALLOWED_ORIGINS`: comma-separated origins (`https://desk.example.org`) whose browser pages may call the API.
    public var allowedOrigins: Set<String> = []
    /// `TRUSTED_PROXIES`: the reverse proxies (CIDRs) whose `Forwarded` / `X-Forwarded-For` name the client; none by
    /// default, when the connection's peer is the client.
    public var trustedProxies: [IPNetwork] = []
    /// `TRUSTED_PROXY_HEADER`: the header those proxies write (`x-forwarded-for`, default, or `forwarded`); the other
    /// is ignored.
    public var trustedProxyHeader: ClientAddressResolver.Header = .xForwardedFor
    /// `METRICS_TOKEN`: when set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    public var metricsToken: String?

    public init() {}

    mutating func read(_ reader: inout ConfigurationReader) {
        reader.read("HOST", &host)
        reader.read("PORT", &port, in: 1...65535)
        reader.read("LOG_LEVEL", &logLevel)
        reader.read("HTTP_IDLE_TIMEOUT_SECONDS", &idleTimeout, unit: .seconds(1), in: 1...3600)
        reader.read("REQUEST_BODY_TIMEOUT_SECONDS", &bodyTimeout, unit: .seconds(1), in: 1...3600)
        reader.read("SHUTDOWN_TIMEOUT_SECONDS", &shutdownTimeout, unit: .seconds(1), in: 1...600)
        for item in reader.list("ALLOWED_ORIGINS") {
            guard let url = URL(string: item), let scheme = url.scheme, ["http", "https"].contains(scheme),
                url.host != nil, url.path.isEmpty || url.path == "/"
            else {
                reader.problem("ALLOWED_ORIGINS has '\(item)'; expected origins like https://desk.example.org")
                continue
            }
            allowedOrigins.insert(item.hasSuffix("/") ? String(item.dropLast()) : item)
        }
        let proxies = reader.list("TRUSTED_PROXIES")
        trustedProxies = proxies.compactMap(IPNetwork.init)
        if trustedProxies.count != proxies.count {
            reader.problem("TRUSTED_PROXIES must be comma-separated addresses or CIDRs (10.0.0.0/8, fd00::/8)")
        }
        reader.read("TRUSTED_PROXY_HEADER", &trustedProxyHeader)
        metricsToken = reader.value("METRICS_TOKEN")
        if let metricsToken, metricsToken.utf8.count < 16 {
            reader.problem("METRICS_TOKEN must have at least 16 characters (or be unset)")
        }
    }
}
