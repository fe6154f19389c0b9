import FaceGateRuntime
import Foundation
import Hummingbird
import HummingbirdAuth
import NIOCore
import Storage

/// The context of every request: Hummingbird's core context and the authenticated staff account, if any.
public struct AppRequestContext: AuthRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: UserStore.Account?
    /// The session (refresh-token family) of the access token used.
    public var session: UUID?
    public let remoteAddress: SocketAddress?
    /// The client's IP address: the connection's peer, or, behind one of `TRUSTED_PROXIES`, the address the proxies
    /// forwarded (`ClientAddressMiddleware`).
    var clientAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        clientAddress = remoteAddress?.ipAddress ?? "unknown"
    }

    /// The rate limiters' key for the client: its address, or its /64 for IPv6.
    var clientKey: String { "ip:" + ClientAddressResolver.limitKey(clientAddress) }

    /// The signed-in account, or a 401 problem.
    func account() throws -> UserStore.Account {
        guard let identity else { throw Problem.missingToken }
        return identity
    }
}
