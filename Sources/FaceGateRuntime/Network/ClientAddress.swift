import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is a /32 or /128).
public struct IPNetwork: Sendable, Equatable {
    public let bytes: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = ipBytes(first) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let length, (0...(bytes.count * 8)).contains(length) else { return nil }
        self.bytes = bytes
        prefixLength = length
    }

    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address, bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }
}

/// The bytes of an IPv4 (4) or IPv6 (16) address, IPv4-mapped IPv6 addresses as IPv4; nil for anything else.
public func ipBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr(), v6 = in6_addr()
    if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
    let bytes = withUnsafeBytes(of: &v6) { Array($0) }
    if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return Array(bytes[12...]) }
    return bytes
}

/// Who a request comes from, for rate limits and logs. The connection's peer, unless that peer is one of
/// `TRUSTED_PROXIES`: then the right-most hop of the one header the proxies write (`TRUSTED_PROXY_HEADER`:
/// `X-Forwarded-For`, or RFC 7239 `Forwarded: for=`) that is not a trusted proxy. Hops to its left were written by
/// the client and prove nothing, and so does the other header, which a proxy passes through as the client sent it.
/// A hop is read as an address with or without a port (`192.0.2.1:4711`, `[2001:db8::1]:443`, quoted or bracketed);
/// one that is no address (`unknown`, an obfuscated `_node` of RFC 7239 §6, garbage) names a client whose address is
/// unknown: it is `unknown:<hop>` (distinct per hop text, at most 64 characters of it), never the proxy's own address,
/// which every client behind it would otherwise share. IPv6 clients are keyed by their /64, which one subscriber
/// usually holds whole.
public struct ClientAddressResolver: Sendable {
    public enum Header: String, Sendable, CaseIterable { case xForwardedFor = "x-forwarded-for", forwarded }

    public let trustedProxies: [IPNetwork]
    public var header: Header = .xForwardedFor

    public init(trustedProxies: [IPNetwork], header: Header = .xForwardedFor) {
        self.trustedProxies = trustedProxies
        self.header = header
    }

    public func client(peer: String?, forwarded: String?, forwardedFor: String?) -> String {
        guard let peer else { return "unknown" }
        guard isTrusted(peer) else { return peer }
        let chain =
            switch header {
            case .forwarded: forwarded.map(Self.forwardedFor) ?? []
            case .xForwardedFor:
                forwardedFor.map { $0.split(separator: ",").map { Self.address(of: Self.trimmed($0)) } } ?? []
            }
        for hop in chain.reversed() {
            guard ipBytes(hop) != nil else { return "unknown:" + String(hop.prefix(64)) }
            if !isTrusted(hop) { return hop }
        }
        return chain.first ?? peer
    }

    public func isTrusted(_ address: String) -> Bool {
        guard let bytes = ipBytes(address) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }

    /// The limiter's key for an address: itself for IPv4, its /64 for IPv6.
    public static func limitKey(_ address: String) -> String {
        guard let bytes = ipBytes(address), bytes.count == 16 else { return address }
        return bytes[0..<8].map { String(format: "%02x", $0) }.joined() + "::/64"
    }

    /// The `for=` hops of an RFC 7239 `Forwarded` header, in order (`address(of:)` each).
    public static func forwardedFor(_ header: String) -> [String] {
        header.split(separator: ",").compactMap { element in
            element.split(separator: ";").lazy.map(trimmed).first { $0.lowercased().hasPrefix("for=") }.map { pair in
                address(of: String(pair.dropFirst(4)))
            }
        }
    }

    /// A hop without its quotes, brackets and port: `"[2001:db8::1]:443"` → `2001:db8::1`, `192.0.2.1:4711` →
    /// `192.0.2.1`; a bare IPv6 address stays whole; anything else is returned as it is (minus quotes).
    public static func address(of hop: String) -> String {
        let value = hop.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if value.hasPrefix("["), let end = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<end])
        }
        if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":"),
            ipBytes(String(value[..<colon])) != nil
        {
            return String(value[..<colon])  // IPv4 with a port
        }
        return value
    }

    private static func trimmed(_ text: Substring) -> String { text.trimmingCharacters(in: .whitespaces) }
}
