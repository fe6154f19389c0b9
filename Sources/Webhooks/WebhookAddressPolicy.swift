import Foundation
import NIOCore

/// Where webhooks may go: https only unless `allowHTTP` (`WEBHOOK_ALLOW_HTTP`), and never to an address on the
/// service's own side — loopback, private, carrier-grade NAT, link-local (the cloud metadata service among them),
/// multicast, reserved, or an IPv6 form of one of them — unless `allowPrivateNetworks`
/// (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`, for receivers on the premises), which still refuses link-local addresses. The address is checked as connected to, after
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
                "\(address) is a loopback, private, link-local or reserved address (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows receivers on your own network, never link-local ones)"
            }
        }
    }

    /// `url` parsed, or why it cannot be a webhook's: not http(s), http without `allowHTTP`, credentials in it, no
    /// host, a fragment, or a literal address this policy refuses. Names are checked when connecting.
    public func target(_ url: String) throws -> Target {
        guard url.count <= 2000, let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased()
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
        return Target(
            https: scheme == "https", host: host, port: port,
            path: path + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
    }

    /// Throws `addressNotAllowed` for an address this policy refuses. Link-local addresses (the cloud metadata
    /// services among them) are refused even with `allowPrivateNetworks`: no receiver on the premises lives there.
    public func check(_ address: SocketAddress) throws {
        let refused = allowPrivateNetworks ? Self.isLinkLocal(address) : Self.isInternal(address)
        guard refused else { return }
        throw Refusal.addressNotAllowed(address.ipAddress ?? "\(address)")
    }

    /// 169.254/16, fe80::/10 and fd00:ec2::254 (a cloud's metadata service on IPv6), in any IPv6 form of them.
    static func isLinkLocal(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            let b = withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }
            return b[0] == 169 && b[1] == 254
        case .v6(let v6):
            let b = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if let v4 = embeddedIPv4(b) { return v4[0] == 169 && v4[1] == 254 }
            let metadata: [UInt8] = [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]
            return (b[0] == 0xfe && b[1] & 0xc0 == 0x80) || b == metadata
        case .unixDomainSocket:
            return true
        }
    }

    /// The IPv4 address an IPv6 address reaches: mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d),
    /// compatible (::a.b.c.d), NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002:aabb:ccdd::/48).
    static func embeddedIPv4(_ b: [UInt8]) -> [UInt8]? {
        let zeros = { (range: Range<Int>) in b[range].allSatisfy { $0 == 0 } }
        if zeros(0..<10) && b[10] == 0xff && b[11] == 0xff { return Array(b[12..<16]) }
        if zeros(0..<8) && b[8] == 0xff && b[9] == 0xff && zeros(10..<12) { return Array(b[12..<16]) }
        if zeros(0..<12) && !(zeros(12..<15) && b[15] <= 1) { return Array(b[12..<16]) }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && (zeros(4..<12) || (b[4] == 0 && b[5] == 1)) {
            return Array(b[12..<16])
        }
        if b[0] == 0x20 && b[1] == 0x02 { return Array(b[2..<6]) }
        return nil
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
            if let v4 = embeddedIPv4(bytes) { return isInternal(v4: v4) }
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] == 0 { return true }  // Teredo
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
