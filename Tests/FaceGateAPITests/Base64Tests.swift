import Foundation
import NIOCore
import TestSupport
import Testing

@testable import FaceGateAPI

/// The one-pass base64 decoder the JSON photo body, cursors and JWTs go through.
@Suite("Base64") struct Base64Tests {
    @Test("random bytes round-trip in both alphabets, with and without padding, with whitespace anywhere")
    func roundTrip() throws {
        var random = SplitMix64(seed: 9)
        for length in Array(1...40) + [1000, 4095, 65_537] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let standard = Data(bytes).base64EncodedString()
            let urlSafe = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            let unpadded = String(urlSafe.prefix { $0 != "=" })
            let wrapped = Data(bytes).base64EncodedString(options: [
                .lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
            ])
            for text in [standard, urlSafe, unpadded, wrapped, " \t" + standard + "\n "] {
                #expect(Base64.decode(text.utf8) == bytes, "length \(length): \(text.prefix(40))")
            }
        }
    }

    @Test("refuses what is not base64, and text holding no byte")
    func refusals() {
        for text in ["", "   ", "==", "====", "Q", "QUJD=E", "QQ===", "QU JD!", "QUJD\u{00A0}", "Q=Q=", "é"] {
            #expect(Base64.decode(text.utf8) == nil, "\(text)")
        }
        #expect(
            Base64.decode("QQ".utf8) == [0x41] && Base64.decode("QQ=".utf8) == [0x41]
                && Base64.decode("QQ==\n".utf8) == [0x41])
        #expect(Base64.decode("QUI".utf8) == [0x41, 0x42])
    }

    @Test("a JSON photo body: data: prefix, whitespace-only as an empty photo, size and syntax refusals")
    func jsonBody() throws {
        func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }
        let photo: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]
        let encoded = Data(photo).base64EncodedString()
        #expect(try ImageInput.imageFromJSON(body(#"{"image_base64":"\#(encoded)"}"#), maxBytes: 100) == photo)
        #expect(
            try ImageInput.imageFromJSON(body(#"{"image_base64":"data:image/jpeg;base64,\#(encoded)"}"#), maxBytes: 100)
                == photo)
        #expect(try ImageInput.imageFromJSON(body(#"{"image_base64":" \n"}"#), maxBytes: 100) == [])
        for (json, code) in [
            (#"{"image_base64":"\#(encoded)"}"#, "image_too_large"), (#"{"image_base64":"@@"}"#, "invalid_base64"),
            (#"{"image":"x"}"#, "missing_image"), (#"{"image_base64":7}"#, "invalid_json"),
        ] {
            do {
                _ = try ImageInput.imageFromJSON(body(json), maxBytes: code == "image_too_large" ? 3 : 100)
                Issue.record("\(json) was accepted")
            } catch let problem as Problem {
                #expect(problem.code == code, "\(json)")
            } catch {
                Issue.record("\(json): \(error)")
            }
        }
    }
}
