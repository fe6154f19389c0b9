import Foundation

extension Data {
    /// Base64 in either alphabet (standard or URL-safe), padding optional, whitespace ignored.
    init?(base64URLEncoded text: some StringProtocol) {
        var base64 = String(text.filter { !$0.isWhitespace }).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }

    /// URL-safe base64 without padding (cursors, JWT parts).
    var base64URLEncodedString: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
