import FaceGateAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing

@Suite("Metrics and CORS", .requiresModels)
struct MetricsAndCORSTests {
    @Test("/metrics counts requests per route and status and reports the gallery and engine queue")
    func metrics() async throws {
        try await withApplication { client, _ in
            let token = try await client.accessToken()
            _ = try await client.json(.get, "/api/v1/auth/me", token: token)
            _ = try await client.json(.get, "/api/v1/members/\(UUID())", token: token)
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.status == .ok)
                #expect(text.contains(#"facegate_http_requests_total{method="GET",route="/api/v1/auth/me",status="200"} 1"#), "\(text)")
                #expect(text.contains(#"route="/api/v1/members/{id}",status="404""#))
                #expect(text.contains("facegate_http_request_duration_seconds_bucket"))
                #expect(text.contains("facegate_gallery_faces 0") && text.contains("facegate_engine_queue_depth 0"))
            }
        }
    }

    @Test("CORS headers for allowed origins only; preflights answered")
    func cors() async throws {
        try await withApplication({ $0.allowedOrigins = ["https://desk.example.org"] }) { client, _ in
            try await client.execute(uri: "/api/v1/auth/login", method: .options, headers: [
                .origin: "https://desk.example.org", .accessControlRequestMethod: "POST"]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://desk.example.org")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            }
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://desk.example.org"]) {
                #expect($0.headers[.accessControlAllowOrigin] == "https://desk.example.org")
            }
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://evil.example.com"]) {
                #expect($0.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }
}
