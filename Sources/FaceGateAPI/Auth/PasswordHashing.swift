import HummingbirdBcrypt
import NIOPosix

/// bcrypt on NIO's blocking thread pool, never on the cooperative pool or an event loop.
public func hashPassword(_ password: String, cost: UInt8 = 12) async throws -> String {
    try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
}

public func verifyPassword(_ password: String, hash: String) async throws -> Bool {
    try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
}
