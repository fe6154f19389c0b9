import Foundation

/// Base64 in either alphabet (standard `+/` or URL-safe `-_`, even mixed), padding optional (at most two `=`, only at
/// the end), ASCII whitespace anywhere ignored — decoded in one pass into one array: a 10 MiB photo's 14 MB of text
/// is neither filtered nor re-encoded first. Nil for anything else, and for text that holds no byte at all.
enum Base64 {
    static func decode(_ text: some Sequence<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.underestimatedCount / 4 * 3 + 3)
        var bits: UInt32 = 0
        var sextets = 0
        var padding = 0
        for byte in text {
            let value = table[Int(byte)]
            if value < 64 {
                guard padding == 0 else { return nil }
                bits = bits << 6 | UInt32(value)
                sextets += 1
                if sextets == 4 {
                    output.append(UInt8(truncatingIfNeeded: bits >> 16))
                    output.append(UInt8(truncatingIfNeeded: bits >> 8))
                    output.append(UInt8(truncatingIfNeeded: bits))
                    bits = 0
                    sextets = 0
                }
            } else if value == whitespace {
                continue
            } else if value == pad {
                padding += 1
                guard padding <= 2 else { return nil }
            } else {
                return nil
            }
        }
        switch sextets {
        case 1: return nil
        case 2: output.append(UInt8(truncatingIfNeeded: bits >> 4))
        case 3:
            output.append(UInt8(truncatingIfNeeded: bits >> 10))
            output.append(UInt8(truncatingIfNeeded: bits >> 2))
        default: break
        }
        return output.isEmpty ? nil : output
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { table[Int(byte)] == whitespace }

    private static let whitespace: UInt8 = 64
    private static let pad: UInt8 = 65
    private static let invalid: UInt8 = 255
    /// Each byte's sextet, or what else it is.
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        for byte in " \t\n\r\u{0B}\u{0C}".utf8 { table[Int(byte)] = whitespace }
        table[Int(UInt8(ascii: "="))] = pad
        return table
    }()
}

extension Data {
    /// `Base64.decode`'s rules (either alphabet, optional padding, whitespace ignored).
    init?(base64URLEncoded text: some StringProtocol) {
        guard let bytes = Base64.decode(text.utf8) else { return nil }
        self.init(bytes)
    }

    /// URL-safe base64 without padding (cursors, JWT parts).
    var base64URLEncodedString: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
