import Foundation
import Hummingbird
import NIOCore
import HummingbirdAuth
import Storage

/// The context of every request: Hummingbird's core context and the authenticated staff account, if any.
public struct AppRequestContext: AuthRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: UserStore.Account?
    /// The session (refresh-token family) of the access token used.
    public var session: UUID?
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address (the connection's peer: put the service behind a proxy that terminates TLS on
    /// the same host, or the limit applies to the proxy).
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The signed-in account, or a 401 problem.
    func account() throws -> UserStore.Account {
        guard let identity else { throw Problem.missingToken }
        return identity
    }
}
