@testable import FaceGateAPI
import Foundation
import HummingbirdTesting
import TestSupport
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("served as OpenAPI 3.1 with every route the router has (start-up refuses a mismatch), and rendered at /docs")
    func servedAndComplete() async throws {
        try await withApplication { client, _ in
            let (status, document) = try await client.json(.get, "/api/v1/openapi.json")
            #expect(status == .ok && document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            #expect(paths["/api/v1/checkins"]?["post"] != nil && paths["/api/v1/members/{id}/faces"]?["post"] != nil)
            // Every documented operation answers something other than "no such route".
            let token = try await client.accessToken()
            for (path, operations) in paths {
                for method in operations.keys {
                    let uri = path.replacingOccurrences(of: "{id}", with: UUID().uuidString)
                        .replacingOccurrences(of: "{face_id}", with: UUID().uuidString)
                    guard method != "delete" else { continue }
                    let answer = try await client.json(.init(rawValue: method.uppercased())!, uri, token: token)
                    let routeMissing = answer.status == .notFound && answer.body["detail"] as? String == "Not Found"
                    #expect(!routeMissing, "\(method) \(path) is documented but not routed")
                }
            }
            try await client.execute(uri: "/api/v1/docs", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains("openapi.json"))
            }
        }
    }

    @Test("the route check names what is undocumented and what is documented but not served")
    func mismatchesBothWays() {
        var routes = OpenAPIDocument.paths.flatMap { path, operations in operations.keys.map { ($0.uppercased(), path) } }
        #expect(OpenAPIDocument.mismatches(with: routes).isEmpty)
        routes.append(("GET", "/api/v1/secret"))
        routes.removeAll { $0 == ("POST", "/api/v1/checkins") }
        #expect(OpenAPIDocument.mismatches(with: routes) == ["undocumented: GET /api/v1/secret", "not served: POST /api/v1/checkins"])
    }
}
