import ImageDecoding

/// Rate limits, and the size of what requests may carry.
public struct LimitSettings: Sendable {
    /// `RATE_LIMIT_PER_MINUTE` and `RATE_LIMIT_BURST` (default: the per-minute rate): `/api/v1` requests per user (or
    /// per client address when anonymous), refilled evenly, with this many at once.
    public var requestsPerMinute = 60
    public var burst = 60
    /// `LOGIN_RATE_LIMIT_PER_MINUTE`: login attempts per client address and per username.
    public var loginsPerMinute = 10
    /// `READY_RATE_LIMIT_PER_MINUTE`: `/ready` requests per client address (its database probe is cached for a second
    /// anyway); beyond it 429 with Retry-After.
    public var readyChecksPerMinute = 600
    /// `RATE_LIMIT_INSTANCES`: how many instances share the traffic; each applies its share of every rate limit.
    public var instances = 1
    /// `MAX_IMAGE_BYTES` and `MAX_IMAGE_PIXELS`: the largest photo accepted, in bytes and in width × height.
    public var image = ImageDecoder.Limits.default
    /// `MAX_INFLIGHT_IMAGE_BYTES`: photo bytes all requests together may hold at once (nil: unbounded, `0`).
    public var maxInflightImageBytes: Int? = 256 << 20

    public init() {}

    /// An instance's share of a limit of `total` per minute (at least 1).
    public var perInstance: @Sendable (Int) -> Int {
        { [instances] total in max(1, (total + instances - 1) / instances) }
    }

    mutating func read(_ reader: inout ConfigurationReader) {
        reader.read("RATE_LIMIT_PER_MINUTE", &requestsPerMinute, in: 1...1_000_000)
        burst = requestsPerMinute
        reader.read("RATE_LIMIT_BURST", &burst, in: 1...1_000_000)
        reader.read("LOGIN_RATE_LIMIT_PER_MINUTE", &loginsPerMinute, in: 1...10_000)
        reader.read("READY_RATE_LIMIT_PER_MINUTE", &readyChecksPerMinute, in: 1...1_000_000)
        reader.read("RATE_LIMIT_INSTANCES", &instances, in: 1...1000)
        reader.read("MAX_IMAGE_BYTES", &image.maxBytes, in: 1024...(512 << 20))
        reader.read("MAX_IMAGE_PIXELS", &image.maxPixels, in: 1024...400_000_000)
        var inflight = maxInflightImageBytes ?? 0
        reader.read("MAX_INFLIGHT_IMAGE_BYTES", &inflight, in: 0...(64 << 30))
        maxInflightImageBytes = inflight == 0 ? nil : inflight
    }
}
