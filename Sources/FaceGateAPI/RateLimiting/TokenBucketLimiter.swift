import Foundation
import Synchronization

/// Token buckets by key (a user, an IP address, a username): `capacity` requests at once, refilled at
/// `perMinute` per minute. Memory is bounded: when more than `maxKeys` keys are held, buckets that have refilled
/// completely (idle clients) are forgotten, and if that is not enough the least recently used go.
/// The limits hold per instance: several instances behind a load balancer each allow this much.
final class TokenBucketLimiter: Sendable {
    let capacity: Double
    let perSecond: Double
    let maxKeys: Int
    private let buckets: Mutex<[String: Bucket]> = Mutex([:])

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// The verdict for one request: whether it may go ahead and what the RateLimit headers say.
    struct Decision: Equatable {
        var allowed: Bool
        var limit: Int
        var remaining: Int
        /// Seconds until a full bucket (RateLimit-Reset) or, when refused, until one token (Retry-After).
        var resetSeconds: Int
        var retryAfterSeconds: Int
    }

    init(perMinute: Int, burst: Int, maxKeys: Int = 100_000) {
        capacity = Double(max(1, burst))
        perSecond = Double(max(1, perMinute)) / 60
        self.maxKeys = maxKeys
    }

    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Decision {
        buckets.withLock { buckets in
            if buckets.count >= maxKeys, buckets[key] == nil { evict(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = max(0, (now - bucket.updated) / .seconds(1))
            bucket.tokens = min(capacity, bucket.tokens + elapsed * perSecond)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[key] = bucket
            return Decision(
                allowed: allowed, limit: Int(capacity), remaining: Int(bucket.tokens),
                resetSeconds: Int(((capacity - bucket.tokens) / perSecond).rounded(.up)),
                retryAfterSeconds: allowed ? 0 : max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up))))
        }
    }

    /// Whether `take(key)` would be allowed now, without taking a token.
    func wouldAllow(_ key: String, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return true }
            let elapsed = max(0, (now - bucket.updated) / .seconds(1))
            return min(capacity, bucket.tokens + elapsed * perSecond) >= 1
        }
    }

    /// Gives back a token `take(key)` took for what turned out not to count.
    func refund(_ key: String) {
        buckets.withLock { buckets in
            if var bucket = buckets[key] {
                bucket.tokens = min(capacity, bucket.tokens + 1)
                buckets[key] = bucket
            }
        }
    }

    var keyCount: Int { buckets.withLock { $0.count } }

    private func evict(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            bucket.tokens + (now - bucket.updated) / .seconds(1) * perSecond < capacity
        }
        if buckets.count >= maxKeys {
            let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count - maxKeys / 2)
            for (key, _) in oldest { buckets.removeValue(forKey: key) }
        }
    }
}
