import FaceGateAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing

@Suite("Metrics and CORS", .requiresDatabase)
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
                #expect(
                    text.contains(
                        #"facegate_http_requests_total{method="GET",route="/api/v1/auth/me",status="200"} 1"#),
                    "\(text)")
                #expect(text.contains(#"route="/api/v1/members/{id}",status="404""#))
                #expect(text.contains("facegate_http_request_duration_seconds_bucket"))
                #expect(text.contains("facegate_gallery_faces 0") && text.contains("facegate_engine_queue_depth 0"))
            }
        }
    }

    @Test("CORS headers for allowed origins only; preflights answered, Idempotency-Key among the headers allowed")
    func cors() async throws {
        try await withApplication({ $0.server.allowedOrigins = ["https://desk.example.org"] }) { client, _ in
            try await client.execute(
                uri: "/api/v1/auth/login", method: .options,
                headers: [
                    .origin: "https://desk.example.org", .accessControlRequestMethod: "POST",
                ]
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://desk.example.org")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            }
            // A page retrying its writes sends Idempotency-Key and reads whether its answer was replayed.
            try await client.execute(
                uri: "/api/v1/members", method: .options,
                headers: [
                    .origin: "https://desk.example.org", .accessControlRequestMethod: "POST",
                    .accessControlRequestHeaders: "authorization, content-type, idempotency-key",
                ]
            ) { response in
                #expect(response.status == .noContent)
                let allowed = (response.headers[.accessControlAllowHeaders] ?? "").lowercased()
                #expect(allowed.contains("idempotency-key"), "\(allowed)")
            }
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://desk.example.org"]) {
                #expect($0.headers[.accessControlAllowOrigin] == "https://desk.example.org")
                #expect($0.headers[.accessControlExposeHeaders]?.contains("Idempotent-Replayed") == true)
            }
            try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://evil.example.com"]) {
                #expect($0.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test("error answers carry the CORS headers too, and no API answer may be cached")
    func corsAndNoStoreOnErrors() async throws {
        try await withApplication({ $0.server.allowedOrigins = ["https://desk.example.org"] }) { client, _ in
            let origin: HTTPFields = [.origin: "https://desk.example.org"]
            // 401 without a token, 404 for an unknown member, 400 for a bad body: a front desk page must read why.
            try await client.execute(uri: "/api/v1/members", method: .get, headers: origin) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == "https://desk.example.org")
                #expect(response.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
                #expect(response.headers[.cacheControl] == "no-store")
            }
            let token = try await client.accessToken()
            var headers = origin
            headers[.authorization] = "Bearer \(token)"
            try await client.execute(uri: "/api/v1/members/\(UUID())", method: .get, headers: headers) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.accessControlAllowOrigin] == "https://desk.example.org")
                #expect(response.headers[.cacheControl] == "no-store")
            }
            try await client.execute(uri: "/api/v1/members?limit=5", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }
}
