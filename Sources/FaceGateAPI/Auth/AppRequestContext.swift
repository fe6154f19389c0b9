import Foundation
import Hummingbird
import HummingbirdAuth
import Storage

/// The context of every request: Hummingbird's core context and the authenticated staff account, if any.
public struct AppRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: UserStore.Account?
    /// The session (refresh-token family) of the access token used.
    public var session: UUID?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The signed-in account, or a 401 problem.
    func account() throws -> UserStore.Account {
        guard let identity else { throw Problem.missingToken }
        return identity
    }
}
