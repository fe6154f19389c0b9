import Crypto
import Foundation

/// `Facegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, one `v1` per secret (two during
/// a secret's rotation overlap). A receiver recomputes the HMAC over the raw body with its secret, compares in
/// constant time and refuses a `t` too far from its clock (replays).
public enum WebhookSignature {
    public static let header = "Facegate-Signature"

    public static func header(secrets: [String], timestamp: Int, body: [UInt8]) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + hex(mac(secret: $0, timestamp: timestamp, body: body)) })
            .joined(separator: ",")
    }

    /// Whether `header` carries a `v1` of `body` under `secret` with a timestamp within `tolerance` seconds of `now`.
    public static func verify(
        _ header: String, secret: String, body: [UInt8], now: Int, tolerance: Int = 300
    ) -> Bool {
        var timestamp: Int?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int(pair[1]) } else if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp, abs(now - timestamp) <= tolerance else { return false }
        let expected = Array(hex(mac(secret: secret, timestamp: timestamp, body: body)).utf8)
        return signatures.contains { candidate in
            let bytes = Array(candidate.utf8)
            return bytes.count == expected.count && zip(bytes, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }

    static func mac(secret: String, timestamp: Int, body: [UInt8]) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8))))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A new signing secret: `whsec_` and 32 random bytes, base64url.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "whsec_"
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
