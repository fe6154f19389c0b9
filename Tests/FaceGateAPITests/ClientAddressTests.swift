import Testing

@testable import FaceGateAPI
@testable import FaceGateRuntime

/// Who a request comes from behind `TRUSTED_PROXIES`, and how rate limits key it.
@Suite("Client addresses") struct ClientAddressTests {
    let resolver = ClientAddressResolver(
        trustedProxies: ["10.0.0.0/8", "fd00::/8", "127.0.0.1"].compactMap(IPNetwork.init))

    @Test("without a trusted proxy the peer is the client, whatever the headers say")
    func untrustedPeer() {
        #expect(resolver.client(peer: "203.0.113.9", forwarded: nil, forwardedFor: "198.51.100.1") == "203.0.113.9")
        #expect(
            ClientAddressResolver(trustedProxies: []).client(peer: "10.1.2.3", forwarded: nil, forwardedFor: "1.2.3.4")
                == "10.1.2.3")
    }

    @Test("behind trusted proxies the right-most address that is not one is the client; what the client wrote is not")
    func forwardedChain() {
        #expect(resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "198.51.100.7") == "198.51.100.7")
        // The client put a fake address first; the proxies appended the real one and their own.
        #expect(
            resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "1.1.1.1, 198.51.100.7, 10.0.0.9")
                == "198.51.100.7")
        #expect(resolver.client(peer: "127.0.0.1", forwarded: nil, forwardedFor: nil) == "127.0.0.1")
    }

    @Test("a hop with a port is its address; a hop that is no address is an unknown client of its own, never the proxy")
    func unparsableHops() {
        #expect(resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "198.51.100.7:4711") == "198.51.100.7")
        #expect(resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "[2001:db8::17]:443") == "2001:db8::17")
        #expect(resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "2001:db8::17") == "2001:db8::17")
        #expect(
            resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "1.1.1.1, 198.51.100.7:80, 10.0.0.9:8080")
                == "198.51.100.7")
        // Garbage or `unknown` where the client's address belongs: that client is unknown, not the proxy (which every
        // client behind it would then share), and one unknown is told from another by what the hop says.
        #expect(
            resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "not an address")
                == "unknown:not an address")
        #expect(
            resolver.client(peer: "10.0.0.5", forwarded: nil, forwardedFor: "unknown, 10.0.0.9") == "unknown:unknown")
        var forwarding = resolver
        forwarding.header = .forwarded
        #expect(forwarding.client(peer: "10.0.0.5", forwarded: "for=unknown", forwardedFor: nil) == "unknown:unknown")
        #expect(
            forwarding.client(peer: "10.0.0.5", forwarded: #"for="_hidden", for=10.0.0.7"#, forwardedFor: nil)
                == "unknown:_hidden")
        #expect(forwarding.client(peer: "10.0.0.5", forwarded: "for=_other", forwardedFor: nil) == "unknown:_other")
        #expect(
            forwarding.client(peer: "10.0.0.5", forwarded: #"for="198.51.100.7:4711""#, forwardedFor: nil)
                == "198.51.100.7")
        #expect(ClientAddressResolver.limitKey("unknown:_hidden") == "unknown:_hidden")
    }

    @Test("RFC 7239 Forwarded when the proxies write it: quoted IPv6 with a port, IPv4 with a port, other parameters")
    func forwardedHeader() {
        var forwarding = resolver
        forwarding.header = .forwarded
        #expect(
            forwarding.client(
                peer: "10.0.0.5", forwarded: #"for="[2001:db8:cafe::17]:4711";proto=https"#,
                forwardedFor: "9.9.9.9") == "2001:db8:cafe::17")
        #expect(
            forwarding.client(
                peer: "10.0.0.5", forwarded: "for=192.0.2.60:443;by=10.0.0.5, for=10.0.0.7",
                forwardedFor: nil) == "192.0.2.60")
    }

    @Test("the header the proxies do not write is the client's word: ignored")
    func otherHeaderIgnored() {
        // A proxy that appends to X-Forwarded-For passes a client's own Forwarded header through.
        #expect(
            resolver.client(peer: "10.0.0.5", forwarded: "for=1.2.3.4", forwardedFor: "198.51.100.7") == "198.51.100.7")
        #expect(resolver.client(peer: "10.0.0.5", forwarded: "for=1.2.3.4", forwardedFor: nil) == "10.0.0.5")
    }

    @Test("IPv6 clients share a limit per /64; IPv4 and IPv4-mapped addresses are themselves")
    func limitKeys() {
        let a = ClientAddressResolver.limitKey("2001:db8:1:2::1"),
            b = ClientAddressResolver.limitKey("2001:db8:1:2:ffff::9")
        #expect(a == b && a == "20010db800010002::/64")
        #expect(ClientAddressResolver.limitKey("2001:db8:1:3::1") != a)
        #expect(ClientAddressResolver.limitKey("192.0.2.1") == "192.0.2.1")
        #expect(resolver.isTrusted("::ffff:10.1.1.1"))
    }

    @Test("TRUSTED_PROXIES and RATE_LIMIT_INSTANCES are read and checked")
    func configuration() throws {
        var environment = testEnvironment(databaseURL: "postgres://u:p@localhost/db")
        environment["TRUSTED_PROXIES"] = "10.0.0.0/8, fd00::/8"
        environment["RATE_LIMIT_INSTANCES"] = "3"
        let configuration = try AppConfiguration(environment: environment)
        #expect(configuration.server.trustedProxies.count == 2)
        #expect(configuration.limits.perInstance(10) == 4 && configuration.limits.perInstance(1) == 1)
        environment["TRUSTED_PROXIES"] = "10.0.0.0/33"
        #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: environment) }
    }
}
