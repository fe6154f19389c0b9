import Foundation
import HummingbirdTesting
import TestSupport
import Testing

@testable import FaceGateAPI

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test(
        "served as OpenAPI 3.1 and rendered at /docs; each operation's security says whether it needs a token",
        .requiresDatabase)
    func servedAndTruthful() async throws {
        try await withApplication { client, _ in
            let (status, document) = try await client.json(.get, "/api/v1/openapi.json")
            #expect(status == .ok && document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
            // (That every route is documented and every documented route served, start-up checks itself.) Called
            // without a token, an operation documented as open never answers missing_token, one documented as
            // needing a bearer token always does.
            var checked = 0
            for (path, operations) in paths {
                for (method, operation) in operations {
                    let uri = path.replacingOccurrences(of: "{id}", with: UUID().uuidString)
                        .replacingOccurrences(of: "{face_id}", with: UUID().uuidString)
                        .replacingOccurrences(of: "{file}", with: "kiosk.js")
                    let open = (operation["security"] as? [Any])?.isEmpty == true
                    let answer = try await client.json(.init(rawValue: method.uppercased())!, uri)
                    let refused = answer.status == .unauthorized && answer.body["code"] as? String == "missing_token"
                    #expect(
                        refused != open,
                        "\(method) \(path): documented \(open ? "open" : "behind a token"), answered \(answer.status)")
                    checked += 1
                }
            }
            #expect(checked > 30)
            try await client.execute(uri: "/api/v1/docs", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains("openapi.json"))
            }
        }
    }

    @Test("the route check names what is undocumented and what is documented but not served")
    func mismatchesBothWays() {
        var routes = OpenAPIDocument.paths.flatMap { path, operations in operations.keys.map { ($0.uppercased(), path) }
        }
        #expect(OpenAPIDocument.mismatches(with: routes).isEmpty)
        routes.append(("GET", "/api/v1/secret"))
        routes.removeAll { $0 == ("POST", "/api/v1/checkins") }
        #expect(
            OpenAPIDocument.mismatches(with: routes) == [
                "undocumented: GET /api/v1/secret", "not served: POST /api/v1/checkins",
            ])
    }
}
