import Crypto
import KeywardCore
import KeywardCrypto
import KeywardServer

extension Harness {
    /// A test-mode Ed25519 signing key named "backend", registered for `tenant` without limits, and its private key.
    static func ed25519SigningKey(
        _ services: KeywardServices,
        _ tenant: Tenant
    ) async throws -> (privateKey: Curve25519.Signing.PrivateKey, registered: SigningKeyInfo) {
        let privateKey = Curve25519.Signing.PrivateKey()
        let registered = try await services.signingKeys.register(
            merchantID: tenant.merchant.id,
            mode: .test,
            name: "backend",
            pem: VerificationKey.ed25519(privateKey.publicKey).spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        return (privateKey, registered)
    }
}
