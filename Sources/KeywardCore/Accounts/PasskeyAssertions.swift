import Foundation
import KeywardCrypto
import SQLKit

/// Signing in with a passkey: options for `navigator.credentials.get`, then the assertion checked
/// against the user's own stored credential. Every refusal counts toward the account's second-factor
/// throttle (shared with TOTP codes), and the fifth locks the step (`SecondFactorLockout`).
extension PasskeyService {
    /// Options for `navigator.credentials.get` (JSON, binary fields base64url): only this user's passkeys.
    public func assertionOptions(userID: String) async throws -> String {
        let challenge = try await issueChallenge(userID: userID, purpose: "authenticate")
        let allowed = try await rows(userID: userID).map { ["type": "public-key", "id": $0.credential_id] }
        return Self.json([
            "challenge": Base64URL.encode(challenge),
            "rpId": relyingParty.id,
            "allowCredentials": allowed,
            "timeout": Int(Self.challengeLifetime * 1000),
            "userVerification": "preferred",
        ])
    }

    /// What a verified assertion did.
    public struct Verified: Sendable {
        public let passkey: PasskeyInfo
        public let userVerified: Bool
    }

    /// Checks an assertion by one of the user's passkeys and records the new counter. A refusal is a
    /// `KeywardError` whose code names the check (`webauthn_sign_count` for a counter that did not
    /// advance: a possibly cloned authenticator); it counts as a wrong second factor.
    public func authenticate(
        userID: String,
        credentialID: String,
        clientDataJSON: [UInt8],
        authenticatorData: [UInt8],
        signature: [UInt8]
    ) async throws -> Verified {
        let subject = FailureThrottle.subject("second-factor", userID)
        let throttle = FailureThrottle(store: store, clock: clock)
        if let until = try await throttle.lockedUntil(subject) { throw SecondFactorLockout(until: until, justLocked: false) }
        do {
            let verified = try await check(
                userID: userID,
                credentialID: credentialID,
                clientDataJSON: clientDataJSON,
                authenticatorData: authenticatorData,
                signature: signature
            )
            try await throttle.reset(subject)
            return verified
        } catch let refusal as KeywardError {
            if let until = try await throttle.fail(subject, policy: AccountService.secondFactorPolicy).lockedUntil {
                throw SecondFactorLockout(until: until, justLocked: true)
            }
            throw refusal
        }
    }

    private func check(
        userID: String,
        credentialID: String,
        clientDataJSON: [UInt8],
        authenticatorData: [UInt8],
        signature: [UInt8]
    ) async throws -> Verified {
        // The challenge first: whatever else is wrong, this answer can never be tried again.
        let challenge = try await consumeChallenge(clientDataJSON: clientDataJSON, userID: userID, purpose: "authenticate")
        // Only the user's own passkeys: another account's credential, or a removed one, is unknown here.
        guard credentialID.utf8.count <= 1400,
            let row = try await store.sql.select().column("*").from("passkeys").where("credential_id", .equal, credentialID)
                .where("user_id", .equal, userID).first(decoding: Row.self),
            let key = Base64URL.decode(row.public_key)
        else {
            throw KeywardError(.unauthenticated, .passkeyUnknown, "This passkey is not registered to your account.")
        }
        let relyingParty = relyingParty
        let assertion = try Self.coded { () throws(CodedInputError) in
            try WebAuthn.verifyAssertion(
                clientDataJSON: clientDataJSON,
                authenticatorData: authenticatorData,
                signature: signature,
                challenge: challenge,
                relyingParty: relyingParty,
                publicKeyCBOR: Array(key),
                storedSignCount: UInt32(clamping: row.sign_count)
            )
        }
        // Compare-and-set on the counter: of two assertions racing with one count, one wins.
        let now = clock.now().millis
        let updated = try await store.sql.update("passkeys").set("sign_count", to: Int64(assertion.signCount)).set("last_used_ms", to: now)
            .where("id", .equal, row.id).where("sign_count", .equal, row.sign_count).returning("id").all()
        guard updated.count == 1 else {
            throw KeywardError(
                .unauthenticated,
                .webauthnSignCount,
                "The passkey's signature counter did not advance: the authenticator may have been cloned."
            )
        }
        return Verified(passkey: row.info, userVerified: assertion.userVerified)
    }
}
