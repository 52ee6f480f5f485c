import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// Provider stores on the Keys page (myPOS SID / AliKassa account): create one, then give it key
/// indexes, either an RSA pair Keyward generates (the private key shown once) or your own public key.
extension CabinetController {
    func addStoreRoutes(to cabinet: RouterGroup<KeywardRequestContext>) {
        cabinet.post("credentials/stores") { request, context -> Response in
            let (principal, form, mode) = try await authorizedForm(request, context, .keysWrite)
            guard let dialect = StoreDialect(rawValue: form["dialect"] ?? "") else {
                throw KeywardError(.invalidInput, "invalid_dialect", "Choose myPOS or AliKassa.", field: "dialect")
            }
            let store = try await services.stores.create(merchantID: principal.merchant.id, mode: mode, NewStore(name: form["name"], dialect: dialect))
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: create store", targetID: store.id)
            return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)#stores", type: .normal)
        }
        cabinet.post("credentials/stores/:id/keys/generate") { request, context -> Response in
            let (principal, _, mode) = try await authorizedForm(request, context, .keysWrite)
            let storeID = try context.parameters.require("id")
            let pair = try RSASigningKey.generate(bits: 2048)
            let added = try await services.stores.addKeys(merchantID: principal.merchant.id, mode: mode, storeID: storeID, pem: pair.publicKey.spkiPEM)
            let store = try await services.stores.get(merchantID: principal.merchant.id, mode: mode, id: storeID)
            try await services.audit.record(merchantID: principal.merchant.id, actor: principal.auditActor, action: "cabinet: generate store key", targetID: storeID)
            let index = added.first.map { String($0.keyIndex) } ?? "?"
            return try credentialCreatedPage(context, mode: mode, title: "Key index \(index) of \(store.name)", secret: pair.pkcs8PEM, fileName: "\(store.externalID)-key-\(index).pem",
                                             steps: "Configure this RSA private key in your \(store.dialect == .mypos ? "myPOS IPC" : "AliKassa") integration with \(store.dialect == .mypos ? "SID" : "account") \(store.externalID) and key index \(index). Keyward's answers are signed by the platform key of that index (its certificate: GET /v1/manage/stores/\(storeID)/keys/\(index)/platform-certificate).")
        }
        cabinet.post("credentials/stores/keys") { request, context -> Response in
            let (principal, form, mode) = try await authorizedForm(request, context, .keysWrite)
            let storeID = form["store"] ?? ""
            return try await saveCredential("The public key", action: "cabinet: save store key", anchor: "stores", principal, mode) {
                _ = try await services.stores.addKeys(merchantID: principal.merchant.id, mode: mode, storeID: storeID, pem: form["public_key"] ?? "")
                return storeID
            }
        }
    }
}
