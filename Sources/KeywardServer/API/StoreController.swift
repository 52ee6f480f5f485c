import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/v1/manage/stores`: myPOS and AliKassa stores, the merchant keys under their key indexes and the
/// platform certificates merchants download to verify Keyward's answers.
struct StoreController {
    let stores: StoreService
    /// Where generated RSA key pairs are made (off the event loops, bounded: 503 `server_busy` when full).
    let heavyWork: HeavyWork
    let clock: KeywardClock

    func addRoutes(to manage: ManageRoutes) {
        manage.listRoute("stores") { key, page in
            let list = try await stores.list(merchantID: key.merchantID, mode: key.mode, limit: page.fetchLimit, startingAfter: page.startingAfter)
            var resources = [StoreResource]()
            for store in list { resources.append(StoreResource(store, keys: try await stores.keys(storeID: store.id), now: clock.now())) }
            return resources
        }
        manage.post("stores", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(CreateStoreBody.self, from: request)
            guard let dialect = StoreDialect(rawValue: body.dialect) else {
                throw KeywardError(.invalidInput, .invalidDialect, "'dialect' must be 'mypos' or 'alikassa'.", field: "dialect")
            }
            if dialect == .mypos && body.account != nil {
                throw KeywardError(.invalidInput, .unknownField, "'account' is an AliKassa field; myPOS stores have 'sid'.", field: "account")
            }
            if dialect == .alikassa && body.sid != nil {
                throw KeywardError(.invalidInput, .unknownField, "'sid' is a myPOS field; AliKassa stores have 'account'.", field: "sid")
            }
            let new = NewStore(
                name: body.name,
                dialect: dialect,
                externalID: body.sid ?? body.account,
                walletNumber: body.wallet_number,
                rejectReplays: body.reject_replays ?? false
            )
            let store = try await stores.create(merchantID: key.merchantID, mode: key.mode, new)
            return try JSONResponse.make(StoreResource(store, keys: [], now: clock.now()), status: .created)
        }
        manage.get("stores/:id", needs: .read(.credentials)) { _, context in
            let key = context.principal
            let store = try await stores.get(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
            return try JSONResponse.make(StoreResource(store, keys: try await stores.keys(storeID: store.id), now: clock.now()))
        }
        manage.post("stores/:id/keys", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(AddStoreKeyBody.self, from: request)
            let added = try await stores.addKeys(
                merchantID: key.merchantID,
                mode: key.mode,
                storeID: try context.parameters.require("id"),
                pem: body.public_key,
                keyIndex: body.key_index,
                name: body.name,
                legacySHA1: body.legacy_sha1 ?? false,
                limits: try body.requestedLimits(for: key),
                by: .key(key)
            )
            return try JSONResponse.make(
                ListResource(data: added.map { StoreKeyResource($0, mode: key.mode, now: clock.now()) }, has_more: false),
                status: .created
            )
        }
        manage.post("stores/:id/keys/generate", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(GenerateStoreKeyBody.self, from: request)
            let bits = body.bits ?? 2048
            guard [2048, 3072, 4096].contains(bits) else {
                throw KeywardError(.invalidInput, .unsupportedAlgorithm, "'bits' must be 2048, 3072 or 4096.", field: "bits")
            }
            let passphrase = try PrivateKeyOutput.validate(passphrase: body.passphrase)
            // Everything that can refuse the call is checked before the RSA key is generated: bad input or
            // a store that is not there must not cost seconds of CPU (schemathesis timed one out).
            let limits = try body.checkedLimits(for: key, now: clock.now())
            let storeID = try context.parameters.require("id")
            _ = try await stores.get(merchantID: key.merchantID, mode: key.mode, id: storeID)
            let pair = try await heavyWork.run { try RSASigningKey.generate(bits: bits) }
            let added = try await stores.addKeys(
                merchantID: key.merchantID,
                mode: key.mode,
                storeID: storeID,
                pem: pair.publicKey.spkiPEM,
                keyIndex: body.key_index,
                name: body.name,
                legacySHA1: body.legacy_sha1 ?? false,
                keepingPrivateKey: body.keep_private_key == true ? pair.pkcs8PEM : nil,
                limits: limits,
                by: .key(key)
            )
            // The private key is in this answer only, unless the merchant asked Keyward to keep it sealed.
            let resources = try added.map {
                StoreKeyResource(
                    $0,
                    mode: key.mode,
                    now: clock.now(),
                    privateKey: try PrivateKeyOutput(
                        pkcs8PEM: pair.pkcs8PEM,
                        signingKey: .rsa(pair, pss: false),
                        keyID: $0.id,
                        passphrase: passphrase
                    )
                )
            }
            return try JSONResponse.make(ListResource(data: resources, has_more: false), status: .created)
        }
        manage.post("stores/:id/keys/:index/private-key", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(ExportPrivateKeyBody.self, from: request)
            let passphrase = try PrivateKeyOutput.validate(passphrase: body.passphrase)
            let storeID = try context.parameters.require("id")
            let index = try Self.keyIndex(context)
            let pem = try await stores.exportPrivateKey(merchantID: key.merchantID, mode: key.mode, storeID: storeID, keyIndex: index)
            let info = try await stores.key(merchantID: key.merchantID, mode: key.mode, storeID: storeID, keyIndex: index)
            let rsa = try? RSASigningKey(pem: pem, minimumBits: 1024)
            return try JSONResponse.make(
                try PrivateKeyOutput(pkcs8PEM: pem, signingKey: rsa.map { .rsa($0, pss: false) }, keyID: info.id, passphrase: passphrase)
            )
        }
        manage.post("stores/:id/keys/:index/revoke", needs: .write(.credentials)) { request, context in
            let key = context.principal
            _ = try await JSONBody.decode(EmptyBody.self, from: request)
            let info = try await stores.revokeKey(
                merchantID: key.merchantID,
                mode: key.mode,
                storeID: try context.parameters.require("id"),
                keyIndex: try Self.keyIndex(context)
            )
            return try JSONResponse.make(StoreKeyResource(info, mode: key.mode, now: clock.now()))
        }
        manage.get("stores/:id/keys/:index/platform-certificate", needs: .read(.credentials)) { _, context in
            let key = context.principal
            let storeID = try context.parameters.require("id")
            let index = try Self.keyIndex(context)
            let info = try await stores.key(merchantID: key.merchantID, mode: key.mode, storeID: storeID, keyIndex: index)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/x-pem-file",
                    .contentDisposition: "attachment; filename=\"keyward-platform-\(storeID)-\(index).pem\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: info.platformCertificatePEM))
            )
        }
    }

    static func keyIndex(_ context: ManageContext) throws -> Int {
        guard let text = context.parameters.get("index"), let index = Int(text), index > 0 else {
            throw KeywardError(.notFound, .resourceMissing, "A key index is a positive integer.")
        }
        return index
    }
}

struct CreateStoreBody: StrictJSONBody {
    static let fields: Set<String> = ["name", "dialect", "sid", "wallet_number", "account", "reject_replays"]
    let name: String?
    let dialect: String
    let sid: String?
    let wallet_number: String?
    let account: String?
    let reject_replays: Bool?
}

struct AddStoreKeyBody: StrictJSONBody, LimitedCredentialBody {
    static let fields = Set<String>(["name", "public_key", "key_index", "legacy_sha1"]).union(limitFields)
    let permissions: [String]?
    let allowed_ips: [String]?
    let expires_at: String?
    let name: String?
    let public_key: String
    let key_index: Int?
    let legacy_sha1: Bool?
}

struct GenerateStoreKeyBody: StrictJSONBody, LimitedCredentialBody {
    static let fields = Set<String>(["name", "bits", "key_index", "legacy_sha1", "passphrase", "keep_private_key"]).union(limitFields)
    let permissions: [String]?
    let allowed_ips: [String]?
    let expires_at: String?
    let name: String?
    let bits: Int?
    let key_index: Int?
    let legacy_sha1: Bool?
    let passphrase: String?
    let keep_private_key: Bool?
}

struct StoreResource: Encodable, Sendable {
    let object = "store"
    let id: String
    let name: String
    let mode: String
    let dialect: String
    let sid: String?
    let wallet_number: String?
    let account: String?
    let reject_replays: Bool?
    let created_at: String?
    let keys: [StoreKeyResource]

    init(_ store: StoreInfo, keys: [StoreKeyInfo], now: Date) {
        id = store.id
        name = store.name
        mode = store.mode.rawValue
        dialect = store.dialect.rawValue
        sid = store.dialect == .mypos ? store.externalID : nil
        wallet_number = store.walletNumber
        account = store.dialect == .alikassa ? store.externalID : nil
        reject_replays = store.rejectReplays
        created_at = Timestamp.format(store.createdAt)
        self.keys = keys.map { StoreKeyResource($0, mode: store.mode, now: now) }
    }
}
