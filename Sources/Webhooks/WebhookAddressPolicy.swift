import Foundation
import NIOCore

/// Where webhooks may go: https only unless `allowHTTP` (`WEBHOOK_ALLOW_HTTP`), and never to an address on the
/// service's own side — loopback, private, carrier-grade NAT, link-local (the cloud metadata service among them),
/// multicast, reserved, or an IPv6 form of one of them — unless `allowPrivateNetworks`
/// (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`, for receivers on the premises). The address is checked as connected to, after
/// DNS, so a name that resolves somewhere else later (DNS rebinding) is caught at that connect.
public struct WebhookAddressPolicy: Sendable {
    public var allowHTTP: Bool
    public var allowPrivateNetworks: Bool

    public init(allowHTTP: Bool, allowPrivateNetworks: Bool) {
        self.allowHTTP = allowHTTP
        self.allowPrivateNetworks = allowPrivateNetworks
    }

    /// A URL a webhook may be sent to, parsed.
    public struct Target: Sendable, Equatable {
        public var https: Bool
        public var host: String
        public var port: Int
        /// Path and query, at least "/".
        public var path: String
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case invalidURL(String)
        case addressNotAllowed(String)

        public var description: String {
            switch self {
            case .invalidURL(let why): why
            case .addressNotAllowed(let address):
                "\(address) is a loopback, private, link-local or reserved address (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for receivers on your own network)"
            }
        }
    }

    /// `url` parsed, or why it cannot be a webhook's: not http(s), http without `allowHTTP`, credentials in it, no
    /// host, a fragment, or a literal address this policy refuses. Names are checked when connecting.
    public func target(_ url: String) throws -> Target {
        guard url.count <= 2000, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased()
        else { throw Refusal.invalidURL("not a URL") }
        guard scheme == "https" || scheme == "http" else { throw Refusal.invalidURL("the URL must be https") }
        guard scheme == "https" || allowHTTP else {
            throw Refusal.invalidURL("the URL must be https (WEBHOOK_ALLOW_HTTP=true allows http)")
        }
        guard components.user == nil, components.password == nil else {
            throw Refusal.invalidURL("credentials do not go in the URL: the signature authenticates the sender")
        }
        guard components.fragment == nil else { throw Refusal.invalidURL("a URL with a fragment") }
        guard var host = components.host, !host.isEmpty else { throw Refusal.invalidURL("the URL has no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw Refusal.invalidURL("the port is out of range") }
        if let literal = try? SocketAddress(ipAddress: host, port: port) { try check(literal) }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        return Target(https: scheme == "https", host: host, port: port,
                      path: path + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
    }

    /// Throws `addressNotAllowed` for an address this policy refuses.
    public func check(_ address: SocketAddress) throws {
        guard !allowPrivateNetworks, Self.isInternal(address) else { return }
        throw Refusal.addressNotAllowed(address.ipAddress ?? "\(address)")
    }

    /// Whether an address lies on the service's own side of the network.
    public static func isInternal(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return isInternal(v4: withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) })
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes.allSatisfy({ $0 == 0 }) { return true }  // ::
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
            // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible) and 64:ff9b::a.b.c.d (NAT64) reach an IPv4 address.
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
            let compatible = bytes[0..<12].allSatisfy { $0 == 0 }
            let nat64 = Array(bytes[0..<12]) == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]
            if mapped || compatible || nat64 { return isInternal(v4: Array(bytes[12..<16])) }
            if bytes[0] & 0xfe == 0xfc { return true }  // fc00::/7 unique local
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return true }  // fe80::/10 link-local
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return true }  // fec0::/10 site-local
            if bytes[0] == 0xff { return true }  // multicast
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return true }  // documentation
            return false
        case .unixDomainSocket:
            return true
        }
    }

    static func isInternal(v4 b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): true
        case (100, 64...127): true  // carrier-grade NAT
        case (169, 254): true  // link-local, cloud metadata
        case (172, 16...31), (192, 168): true
        case (192, 0) where b[2] == 0 || b[2] == 2: true  // IETF protocol assignments, TEST-NET-1
        case (198, 18...19): true  // benchmarking
        case (198, 51) where b[2] == 100, (203, 0) where b[2] == 113: true  // TEST-NET-2, -3
        case (224...255, _): true  // multicast, reserved, broadcast
        default: false
        }
    }
}
