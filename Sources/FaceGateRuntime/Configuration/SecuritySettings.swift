import Foundation
import Storage
import UseCases

/// Tokens, password hashes, the biometric keys and the first super admin.
public struct SecuritySettings: Sendable {
    /// `SECRET_KEY` (required): at least 32 bytes of random text; signs the API's tokens.
    public var secretKey = ""
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`: lifetime of access tokens.
    public var accessTokenLifetime: Duration = .seconds(15 * 60)
    /// `REFRESH_TOKEN_EXPIRE_DAYS`: lifetime of refresh tokens (each refresh issues a new one).
    public var refreshTokenLifetime: Duration = .seconds(14 * 86_400)
    /// `REFRESH_REUSE_GRACE_SECONDS`: a refresh token just replaced may be presented again this long (its answer was
    /// lost) and gets a new pair, the pair it got before revoked for good (never two pairs of one session); later,
    /// reuse revokes the session.
    public var refreshReuseGrace: Duration = .seconds(3)
    /// bcrypt cost for new password and PIN hashes.
    public var bcryptCost: UInt8 = 12
    /// `BIOMETRIC_ENCRYPTION_KEY` (required): 32 random bytes, base64; seals thumbnails and crops, keys templates.
    public var biometricKey: [UInt8] = []
    /// `BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS`: earlier biometric keys (comma-separated base64), which still open what
    /// they sealed (and read the templates they transformed) until `facegate keys rotate` has re-sealed and
    /// re-transformed it under `BIOMETRIC_ENCRYPTION_KEY`.
    public var previousBiometricKeys: [[UInt8]] = []
    /// `SUPER_ADMIN_USERNAME`, `SUPER_ADMIN_PASSWORD`, `SUPER_ADMIN_EMAIL`: the super admin created at the first start.
    public var superAdmin: UserStore.SuperAdminCredentials?

    public init() {}

    public var biometricSealer: BiometricSealer {
        BiometricSealer(key: biometricKey, previousKeys: previousBiometricKeys)
    }
    /// The keyed rotations face templates are stored under (derived once per key in a process).
    public var templateKeys: TemplateKeys { TemplateKeys(key: biometricKey, previousKeys: previousBiometricKeys) }

    mutating func read(_ reader: inout ConfigurationReader) {
        if let key = reader.required(
            "SECRET_KEY", describe: "at least 32 bytes of random text",
            { value in
                value.utf8.count >= 32 ? value : nil
            })
        {
            secretKey = key
        }
        reader.read("ACCESS_TOKEN_EXPIRE_MINUTES", &accessTokenLifetime, unit: .seconds(60), in: 1...1440)
        reader.read("REFRESH_TOKEN_EXPIRE_DAYS", &refreshTokenLifetime, unit: .seconds(86_400), in: 1...365)
        reader.read("REFRESH_REUSE_GRACE_SECONDS", &refreshReuseGrace, unit: .seconds(1), in: 0...30)
        let key: (String) -> [UInt8]? = { Data(base64Encoded: $0).flatMap { $0.count == 32 ? [UInt8]($0) : nil } }
        if let biometricKey = reader.required(
            "BIOMETRIC_ENCRYPTION_KEY", describe: "32 random bytes, base64-encoded", key)
        {
            self.biometricKey = biometricKey
        }
        let previous = reader.list("BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS")
        previousBiometricKeys = previous.compactMap(key)
        if previousBiometricKeys.count != previous.count {
            reader.problem("BIOMETRIC_ENCRYPTION_PREVIOUS_KEYS must be comma-separated base64 keys of 32 bytes")
        }
        superAdmin = reader.superAdmin()
    }
}
