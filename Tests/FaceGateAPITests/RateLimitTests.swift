import Foundation
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing

@testable import FaceGateAPI

@Suite("Rate limiting")
struct RateLimitTests {
    /// The bucket holds `burst` requests and gains one every 60/perMinute seconds: the first refusal comes after
    /// `burst` requests, plus one per refill period the requests took (a busy test machine is slow).
    static func expectRefusalAfter(_ burst: Int, refillSeconds: Double, _ attempt: () async throws -> Bool) async throws
    {
        let started = ContinuousClock.now
        var admitted = 0
        while try await attempt() {
            admitted += 1
            guard admitted < burst * 4 else { break }
        }
        let refills = Int((ContinuousClock.now - started) / .seconds(1) / refillSeconds)
        #expect(
            admitted >= burst && admitted <= burst + refills, "admitted \(admitted), burst \(burst), refills \(refills)"
        )
    }

    @Test("the 61st request in a minute is 429 with Retry-After and RateLimit headers", .requiresDatabase)
    func requestLimit() async throws {
        try await withApplication { client, _ in
            let token = try #require(try await AuthTests.login(client).1).access_token
            try await Self.expectRefusalAfter(60, refillSeconds: 1) {
                try await client.execute(
                    uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer \(token)"]
                ) {
                    response in
                    guard response.status == .ok else {
                        #expect(response.status == .tooManyRequests)
                        #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
                        #expect(response.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
                        #expect(String(buffer: response.body).contains(#""code":"rate_limited""#))
                        return false
                    }
                    #expect(response.headers[HTTPField.Name("RateLimit-Limit")!] == "60")
                    return true
                }
            }
        }
    }

    @Test("login attempts are limited per username and address (10 a minute by default)", .requiresDatabase)
    func loginLimit() async throws {
        try await withApplication { client, _ in
            try await Self.expectRefusalAfter(10, refillSeconds: 6) {
                let (status, _, problem) = try await AuthTests.login(client, password: "wrong password guess")
                if status == .tooManyRequests {
                    #expect(problem?.code == "rate_limited")
                } else {
                    #expect(status == .unauthorized)
                }
                return status == .unauthorized
            }
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
