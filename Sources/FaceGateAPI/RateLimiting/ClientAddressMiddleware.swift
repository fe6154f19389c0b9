import FaceGateRuntime
import HTTPTypes
import Hummingbird
import Synchronization

/// Sets the request's client address: the connection's peer, or what a trusted proxy forwarded
/// (`ClientAddressResolver`). Without `TRUSTED_PROXIES`, the first request carrying `X-Forwarded-For` or `Forwarded`
/// is logged as a warning (once per process): a proxy in front that is not named there makes every client look like
/// the proxy, one address sharing one set of limits.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let resolver: ClientAddressResolver
    let forwardingWarned = OnceFlag()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard !resolver.trustedProxies.isEmpty else {
            if request.headers[.xForwardedFor] != nil || request.headers[.forwarded] != nil, forwardingWarned.setFirst()
            {
                context.logger.warning(
                    "a request carries X-Forwarded-For or Forwarded but TRUSTED_PROXIES is unset: the connection's peer is taken as the client, so behind a proxy every client shares its limits; set TRUSTED_PROXIES to the proxy's address (logged once)",
                    metadata: [
                        "peer": "\(context.remoteAddress?.ipAddress ?? "unknown")"
                    ])
            }
            return try await next(request, context)
        }
        var context = context
        context.clientAddress = resolver.client(
            peer: context.remoteAddress?.ipAddress, forwarded: request.headers[.forwarded],
            forwardedFor: request.headers[.xForwardedFor])
        return try await next(request, context)
    }
}

/// True for the first caller of `setFirst()` only.
final class OnceFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func setFirst() -> Bool { !value.exchange(true, ordering: .relaxed) }
}

extension HTTPField.Name {
    static let forwarded = Self("Forwarded")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
