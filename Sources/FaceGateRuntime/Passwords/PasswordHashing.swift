import HummingbirdBcrypt
import NIOPosix
import UseCases

/// bcrypt on NIO's blocking thread pool, never on the cooperative pool or an event loop.
public func hashPassword(_ password: String, cost: UInt8 = 12) async throws -> String {
    try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
}

public func verifyPassword(_ password: String, hash: String) async throws -> Bool {
    try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
}

extension PINHashing {
    /// PINs hashed like passwords: bcrypt at `bcryptCost`, off the cooperative pool.
    public init(bcryptCost: UInt8) {
        self.init(
            hash: { try await hashPassword($0, cost: bcryptCost) }, verify: { try await verifyPassword($0, hash: $1) })
    }
}
