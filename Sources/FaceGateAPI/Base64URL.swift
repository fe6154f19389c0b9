import Foundation

extension Data {
    /// Base64 in either alphabet (standard or URL-safe), padding optional (at most two `=`, only at the end),
    /// whitespace ignored.
    init?(base64URLEncoded text: some StringProtocol) {
        var base64 = String(text.filter { !$0.isWhitespace }).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        let padding = base64.reversed().prefix(while: { $0 == "=" }).count
        base64.removeLast(padding)
        guard padding <= 2, !base64.isEmpty, !base64.contains("="), base64.count % 4 != 1 else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }

    /// URL-safe base64 without padding (cursors, JWT parts).
    var base64URLEncodedString: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
