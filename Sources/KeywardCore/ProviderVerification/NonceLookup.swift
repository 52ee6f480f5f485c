import Foundation
import SQLKit

extension SigningKeyService {
    /// Whether `nonce` of `keyID` is recorded, without recording it: the diagnosis says "this would be
    /// refused as a replay" and must not use the nonce up itself. A recorded row counts until it is pruned,
    /// exactly as `useNonce` (whose insert conflicts with it) counts it.
    public func nonceWasUsed(keyID: String, nonce: String) async throws -> Bool {
        struct Row: Decodable { let expires_ms: Int64 }
        let row = try await store.sql.select().column("expires_ms").from("signature_nonces")
            .where("key_id", .equal, keyID).where("nonce", .equal, nonce)
            .first(decoding: Row.self)
        return row != nil
    }
}
