import Crypto
import Foundation
import KeywardCrypto
import SQLKit

/// A passkey as the account page lists it (never the key itself).
public struct PasskeyInfo: Sendable, Equatable {
    public let id: String
    public let name: String
    /// `ES256` or `RS256`.
    public let algorithm: String
    public let attestationFormat: String
    public let userVerified: Bool
    public let createdAt: Date
    public let lastUsedAt: Date?
}

/// Passkeys (WebAuthn credentials) as a second factor: one-time challenges, registration and assertion
/// checked by `WebAuthn` against the server's own relying party, the signature counter, and the same
/// failure throttle as TOTP codes (wrong assertions and wrong codes count together per account).
public struct PasskeyService: Sendable {
    let store: KeywardStore
    let clock: KeywardClock
    /// From the server's configuration (`public_url`, else its own HTTPS origin), never from a request.
    public let relyingParty: WebAuthn.RelyingParty

    /// How long a challenge may be answered.
    public static let challengeLifetime: TimeInterval = 300
    public static let maximumPerUser = 10
    /// Unanswered challenges kept per user (each page view issues one): older ones are dropped.
    public static let pendingChallengesPerUser = 20

    public init(store: KeywardStore, clock: KeywardClock = .system, relyingParty: WebAuthn.RelyingParty) {
        self.store = store
        self.clock = clock
        self.relyingParty = relyingParty
    }

    struct Row: Codable {
        let id: String
        let user_id: String
        let credential_id: String
        let public_key: String
        let algorithm: Int64
        let sign_count: Int64
        let name: String
        let attestation_format: String
        let user_verified: Int64
        let created_ms: Int64
        let last_used_ms: Int64?
        var info: PasskeyInfo {
            PasskeyInfo(
                id: id,
                name: name,
                algorithm: algorithm == Int64(COSEKey.Algorithm.rs256.rawValue) ? "RS256" : "ES256",
                attestationFormat: attestation_format,
                userVerified: user_verified != 0,
                createdAt: Date(millis: created_ms),
                lastUsedAt: last_used_ms.map { Date(millis: $0) }
            )
        }
    }

    /// The user's passkeys, oldest first.
    public func list(userID: String) async throws -> [PasskeyInfo] {
        try await rows(userID: userID).map(\.info)
    }

    func rows(userID: String) async throws -> [Row] {
        try await store.sql.select().column("*").from("passkeys").where("user_id", .equal, userID).orderBy("created_ms").all(decoding: Row.self)
    }

    public func hasPasskey(userID: String) async throws -> Bool {
        try await store.sql.select().column("id").from("passkeys").where("user_id", .equal, userID).limit(1).all().count > 0
    }

    /// Whether `role` at `merchantID` must give a passkey (the merchant requires it of roles that can see live keys).
    public func required(role: MemberRole, merchantID: String) async throws -> Bool {
        guard role.requiresSecondFactor else { return false }
        struct Setting: Decodable { let passkeys_required: Int64? }
        let row = try await store.sql.select().column("passkeys_required").from("merchant_settings").where("merchant_id", .equal, merchantID)
            .first(decoding: Setting.self)
        return (row?.passkeys_required ?? 0) != 0
    }

    // MARK: Challenges

    /// Issues a one-time challenge for `purpose` (`register` or `authenticate`); forgets expired ones.
    func issueChallenge(userID: String, purpose: String) async throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let challenge = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let now = clock.now()
        try await store.sql.delete(from: "passkey_challenges").where("expires_ms", .lessThan, now.millis).run()
        struct Pending: Decodable { let id: String }
        let stale = try await store.sql.select().column("id").from("passkey_challenges").where("user_id", .equal, userID)
            .orderBy("expires_ms", .descending).offset(Self.pendingChallengesPerUser - 1).limit(1000).all(decoding: Pending.self)
        if !stale.isEmpty { try await store.sql.delete(from: "passkey_challenges").where("id", .in, stale.map(\.id)).run() }
        try await store.sql.insert(into: "passkey_challenges").columns("id", "user_id", "purpose", "expires_ms")
            .values(
                SQLBind(Hex.encode(SHA256.hash(data: challenge))),
                SQLBind(userID),
                SQLBind(purpose),
                SQLBind(now.addingTimeInterval(Self.challengeLifetime).millis)
            ).run()
        return challenge
    }

    /// Consumes the challenge the client data answers: one use, this user, this purpose, not expired.
    /// A replay finds nothing (the row is gone), as does another user's challenge.
    func consumeChallenge(clientDataJSON: [UInt8], userID: String, purpose: String) async throws -> [UInt8] {
        struct Found: Decodable { let expires_ms: Int64 }
        let challenge = try Self.coded { () throws(CodedInputError) in try WebAuthn.challenge(inClientData: clientDataJSON) }
        let found = try await store.sql.delete(from: "passkey_challenges").where("id", .equal, Hex.encode(SHA256.hash(data: challenge)))
            .where("user_id", .equal, userID).where("purpose", .equal, purpose).returning("expires_ms").all(decoding: Found.self)
        guard let row = found.first else {
            throw KeywardError(
                .unauthenticated,
                .webauthnChallengeUnknown,
                "This passkey answer was used already or was not asked for here; try again."
            )
        }
        guard row.expires_ms > clock.now().millis else {
            throw KeywardError(.unauthenticated, .webauthnChallengeExpired, "The passkey request expired; try again.")
        }
        return challenge
    }

    static func coded<T>(_ kind: KeywardError.Kind = .unauthenticated, _ work: () throws(CodedInputError) -> T) throws(KeywardError) -> T {
        do { return try work() } catch { throw KeywardError(kind, error.code, error.message) }
    }

    // MARK: Registration

    /// Options for `navigator.credentials.create` (JSON, binary fields base64url): ES256 then RS256,
    /// the user's existing passkeys excluded, no attestation asked (`none`; `packed` is accepted too).
    public func registrationOptions(user: UserInfo) async throws -> String {
        let challenge = try await issueChallenge(userID: user.id, purpose: "register")
        let existing = try await rows(userID: user.id).map { ["type": "public-key", "id": $0.credential_id] }
        let options: [String: Any] = [
            "challenge": Base64URL.encode(challenge),
            "rp": ["id": relyingParty.id, "name": "Keyward"],
            "user": ["id": Base64URL.encode(Array(user.id.utf8)), "name": user.email, "displayName": user.email],
            "pubKeyCredParams": [["type": "public-key", "alg": -7], ["type": "public-key", "alg": -257]],
            "timeout": Int(Self.challengeLifetime * 1000),
            "excludeCredentials": existing,
            "authenticatorSelection": ["residentKey": "preferred", "userVerification": "preferred"],
            "attestation": "none",
        ]
        return Self.json(options)
    }

    /// Verifies and stores a new passkey for the user.
    public func register(userID: String, name: String, clientDataJSON: [UInt8], attestationObject: [UInt8]) async throws -> PasskeyInfo {
        let name = try Validation.name(name, field: "name", maximum: 60)
        let challenge = try await consumeChallenge(clientDataJSON: clientDataJSON, userID: userID, purpose: "register")
        let relyingParty = relyingParty
        let registration = try Self.coded(.invalidInput) { () throws(CodedInputError) in
            try WebAuthn.verifyRegistration(
                clientDataJSON: clientDataJSON,
                attestationObject: attestationObject,
                challenge: challenge,
                relyingParty: relyingParty
            )
        }
        guard try await rows(userID: userID).count < Self.maximumPerUser else {
            throw KeywardError(.conflict, .tooManyPasskeys, "An account holds at most \(Self.maximumPerUser) passkeys; remove one first.")
        }
        let row = Row(
            id: Identifier.make("pky"),
            user_id: userID,
            credential_id: Base64URL.encode(registration.credentialID),
            public_key: Base64URL.encode(registration.publicKeyCBOR),
            algorithm: Int64(registration.algorithm.rawValue),
            sign_count: Int64(registration.signCount),
            name: name,
            attestation_format: registration.attestationFormat,
            user_verified: registration.userVerified ? 1 : 0,
            created_ms: clock.now().millis,
            last_used_ms: nil
        )
        do {
            try await store.sql.insert(into: "passkeys").model(row).run()
        } catch {
            // The unique credential id: this authenticator's credential is registered already (here or to someone else).
            if try await store.sql.select().column("id").from("passkeys").where("credential_id", .equal, row.credential_id).all().count > 0 {
                throw KeywardError(.conflict, .passkeyExists, "This passkey is registered already.")
            }
            throw error
        }
        return row.info
    }

    /// Removes one of the user's passkeys (another user's id is not found).
    public func remove(userID: String, id: String) async throws {
        let gone = try await store.sql.delete(from: "passkeys").where("id", .equal, id).where("user_id", .equal, userID).returning("id").all()
        guard !gone.isEmpty else { throw KeywardError.notFound("passkey", id: id, scoped: false) }
    }
}

extension PasskeyService {
    static func json(_ object: [String: Any]) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
