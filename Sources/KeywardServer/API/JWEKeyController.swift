import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/v1/manage/jwks`, `/v1/manage/service-code` and `/v1/manage/device-sessions`: the Alliance dialect's
/// keys, service code and technical sessions of the calling key's merchant and mode.
struct JWEKeyController {
    let jweKeys: JWEKeyService
    let sessions: DeviceSessionService
    let clock: KeywardClock

    func addRoutes(to manage: ManageRoutes) {
        manage.get("service-code", needs: .read(.credentials)) { _, context in
            let key = context.principal
            var json = FlatJSON()
            json.add("service_code", try await jweKeys.serviceCode(merchantID: key.merchantID, mode: key.mode))
            json.add("mode", key.mode.rawValue)
            return json.response()
        }
        manage.listRoute("jwks") { key, page in
            let now = clock.now()
            return try await jweKeys.list(merchantID: key.merchantID, mode: key.mode, limit: page.fetchLimit, startingAfter: page.startingAfter)
                .map { JWEKeyResource($0, now: now) }
        }
        manage.post("jwks", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(RegisterJWKBody.self, from: request)
            let info = try await jweKeys.register(
                merchantID: key.merchantID,
                mode: key.mode,
                name: body.name,
                jwk: body.jwk,
                limits: try body.requestedLimits(for: key),
                by: .key(key)
            )
            return try JSONResponse.make(JWEKeyResource(info, now: clock.now()), status: .created)
        }
        manage.post("jwks/generate", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(GenerateJWKBody.self, from: request)
            let kid = body.kid ?? UUID().uuidString.lowercased()
            let pair = JWK(material: .ecPrivate(.generate(.p384)), kid: kid, use: "enc", alg: JWEAlgorithm.ecdhESA256KW.rawValue)
            let info = try await jweKeys.register(
                merchantID: key.merchantID,
                mode: key.mode,
                name: body.name,
                jwk: pair.publicJWK.json(),
                limits: try body.requestedLimits(for: key),
                by: .key(key)
            )
            // The private JWK is in this answer only: Keyward keeps the public part.
            return try JSONResponse.make(JWEKeyResource(info, now: clock.now(), privateJWK: pair.json(includingPrivate: true)), status: .created)
        }
        manage.revokeRoute("jwks") { target in
            JWEKeyResource(try await jweKeys.revoke(merchantID: target.key.merchantID, mode: target.key.mode, id: target.id), now: clock.now())
        }
        manage.listRoute("device-sessions") { key, page in
            let now = clock.now()
            return try await sessions.list(merchantID: key.merchantID, mode: key.mode, limit: page.fetchLimit, startingAfter: page.startingAfter)
                .map { DeviceSessionResource($0, now: now) }
        }
        manage.revokeRoute("device-sessions") { target in
            DeviceSessionResource(
                try await sessions.revoke(merchantID: target.key.merchantID, mode: target.key.mode, id: target.id),
                now: clock.now()
            )
        }
    }
}

struct RegisterJWKBody: StrictJSONBody, LimitedCredentialBody {
    static let fields = Set<String>(["name", "jwk"]).union(limitFields)
    static let jsonTextFields: Set<String> = ["jwk"]
    let permissions: [String]?
    let allowed_ips: [String]?
    let expires_at: String?
    let name: String?
    /// The public JWK: the JSON object, or (as first documented) a string holding it.
    let jwk: String
}

struct GenerateJWKBody: StrictJSONBody, LimitedCredentialBody {
    static let fields = Set<String>(["name", "kid"]).union(limitFields)
    let permissions: [String]?
    let allowed_ips: [String]?
    let expires_at: String?
    let name: String?
    let kid: String?
}
