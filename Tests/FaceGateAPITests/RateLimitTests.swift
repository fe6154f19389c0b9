@testable import FaceGateAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing

@Suite("Rate limiting", .requiresModels)
struct RateLimitTests {
    @Test("the 61st request in a minute is 429 with Retry-After and RateLimit headers")
    func requestLimit() async throws {
        try await withApplication { client, _ in
            let token = try #require(try await AuthTests.login(client).1).access_token
            for i in 1...60 {
                try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                    response in
                    #expect(response.status == .ok, "request \(i)")
                    #expect(response.headers[HTTPField.Name("RateLimit-Limit")!] == "60")
                }
            }
            try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                response in
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(response.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
                #expect(String(buffer: response.body).contains(#""code":"rate_limited""#))
            }
        }
    }

    @Test("login attempts are limited per username and address (10 a minute by default)")
    func loginLimit() async throws {
        try await withApplication { client, _ in
            for _ in 1...10 {
                #expect(try await AuthTests.login(client, password: "wrong password guess").0 == .unauthorized)
            }
            let (status, _, problem) = try await AuthTests.login(client)
            #expect(status == .tooManyRequests && problem?.code == "rate_limited")
        }
    }

    @Test("buckets refill over time and the number of keys held stays bounded")
    func bucketsRefillAndStayBounded() {
        let limiter = TokenBucketLimiter(perMinute: 60, burst: 2, maxKeys: 100)
        let start = ContinuousClock.now
        #expect(limiter.take("a", now: start).allowed && limiter.take("a", now: start).allowed)
        let refused = limiter.take("a", now: start)
        #expect(!refused.allowed && refused.retryAfterSeconds == 1)
        #expect(limiter.take("a", now: start + .seconds(1)).allowed)
        for i in 0..<1000 { _ = limiter.take("client \(i)", now: start + .seconds(2)) }
        #expect(limiter.keyCount <= 100)
    }
}
