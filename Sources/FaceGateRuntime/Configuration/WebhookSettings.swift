import Webhooks

/// Webhook deliveries, and the validation call asked before a check-in.
public struct WebhookSettings: Sendable {
    /// `WEBHOOK_RETRY_HOURS`: a delivery is retried this long before it fails and its endpoint is disabled.
    public var retryWindow: Duration = .seconds(24 * 3600)
    /// `WEBHOOK_RETRY_INITIAL_SECONDS`: the first pause before a retry (doubling to an hour, ±50 % jitter).
    public var initialBackoff: Duration = .seconds(10)
    /// `WEBHOOK_ALLOW_HTTP`: endpoints may be plain http (default: https only).
    public var allowHTTP = false
    /// `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: endpoints may resolve to loopback, private or link-local addresses (receivers
    /// on the premises).
    public var allowPrivateNetworks = false
    /// `CHECKIN_VALIDATION_TIMEOUT_MS`: how long a check-in waits for the organisation's validation call.
    public var validationTimeout: Duration = .milliseconds(750)
    /// `CHECKIN_VALIDATION_ON_ERROR`: `admit` or `refuse` (the default) when the validation call gives no usable answer.
    public var validationAdmitsOnError = false

    public init() {}

    public var addressPolicy: WebhookAddressPolicy {
        WebhookAddressPolicy(allowHTTP: allowHTTP, allowPrivateNetworks: allowPrivateNetworks)
    }

    mutating func read(_ reader: inout ConfigurationReader) {
        reader.read("WEBHOOK_RETRY_HOURS", &retryWindow, unit: .seconds(3600), in: 1...720)
        reader.read("WEBHOOK_RETRY_INITIAL_SECONDS", &initialBackoff, unit: .seconds(1), in: 1...3600)
        reader.read("WEBHOOK_ALLOW_HTTP", &allowHTTP)
        reader.read("WEBHOOK_ALLOW_PRIVATE_NETWORKS", &allowPrivateNetworks)
        reader.read("CHECKIN_VALIDATION_TIMEOUT_MS", &validationTimeout, unit: .milliseconds(1), in: 50...10_000)
        switch reader.value("CHECKIN_VALIDATION_ON_ERROR")?.lowercased() {
        case nil, "refuse": validationAdmitsOnError = false
        case "admit": validationAdmitsOnError = true
        default: reader.problem("CHECKIN_VALIDATION_ON_ERROR must be admit or refuse")
        }
    }
}
