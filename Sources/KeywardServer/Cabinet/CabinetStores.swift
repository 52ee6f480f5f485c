import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// Provider stores on the Keys page (myPOS SID / AliKassa account): create one, then give it key
/// indexes, either an RSA pair Keyward generates (the private key shown once) or your own public key.
extension CabinetController {
    func addStoreRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("credentials/stores", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            guard let dialect = StoreDialect(rawValue: form["dialect"] ?? "") else {
                throw KeywardError(.invalidInput, .invalidDialect, "Choose myPOS or AliKassa.", field: "dialect")
            }
            _ = try await audited(context, .storeCreate, mode: mode) {
                try await services.stores.create(merchantID: principal.merchant.id, mode: mode, NewStore(name: form["name"], dialect: dialect))
            }
            return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)#stores", type: .normal)
        }
        cabinet.post("credentials/stores/:id/keys/generate", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let storeID = try context.parameters.require("id")
            let pair = try await services.heavyWork.run { try RSASigningKey.generate(bits: 2048) }
            let limits = try Self.requestedLimits(context.form)
            let added = try await audited(context, .storeKeyGenerate, mode: mode, target: storeID) {
                try await services.stores.addKeys(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    storeID: storeID,
                    pem: pair.publicKey.spkiPEM,
                    limits: limits,
                    by: .member(principal.role)
                )
            }
            let store = try await services.stores.get(merchantID: principal.merchant.id, mode: mode, id: storeID)
            let index = added.first.map { String($0.keyIndex) } ?? "?"
            return try credentialCreatedPage(
                context,
                mode: mode,
                title: "Key index \(index) of \(store.name)",
                secret: pair.pkcs8PEM,
                fileName: "\(store.externalID)-key-\(index).pem",
                steps:
                    "Configure this RSA private key in your \(store.dialect == .mypos ? "myPOS IPC" : "AliKassa") integration with \(store.dialect == .mypos ? "SID" : "account") \(store.externalID) and key index \(index). Keyward's answers are signed by the platform key of that index (its certificate: GET /v1/manage/stores/\(storeID)/keys/\(index)/platform-certificate)."
            )
        }
        cabinet.get("credentials/stores/:id/keys/:index/platform-certificate", .needs(.read(.credentials))) { request, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let storeID = try context.parameters.require("id")
            let index = try Self.storeKeyIndex(context)
            let info = try await services.stores.key(merchantID: principal.merchant.id, mode: mode, storeID: storeID, keyIndex: index)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/x-pem-file", .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"keyward-platform-\(storeID)-\(index).pem\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: info.platformCertificatePEM))
            )
        }
        cabinet.get("credentials/stores/:id/keys/:index/revoke", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let storeID = try context.parameters.require("id")
            let index = try Self.storeKeyIndex(context)
            let store = try await services.stores.get(merchantID: principal.merchant.id, mode: mode, id: storeID)
            _ = try await services.stores.key(merchantID: principal.merchant.id, mode: mode, storeID: storeID, keyIndex: index)
            var view = CabinetPage(context, title: "Revoke key index \(index) of \(store.name)")
            view.mode = mode.rawValue
            view.uri = "/cabinet/credentials/stores/\(storeID)/keys/\(index)/revoke"
            return try page("credential-revoke", view)
        }
        cabinet.post("credentials/stores/:id/keys/:index/revoke", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, mode) = (context.principal, context.mode)
            let storeID = try context.parameters.require("id")
            let index = try Self.storeKeyIndex(context)
            _ = try await audited(context, .storeKeyRevoke, mode: mode, target: storeID) {
                try await services.stores.revokeKey(merchantID: principal.merchant.id, mode: mode, storeID: storeID, keyIndex: index)
            }
            return .redirect(to: "/cabinet/keys?mode=\(mode.rawValue)#stores", type: .normal)
        }
        cabinet.post("credentials/stores/keys", .needs(.write(.credentials))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            let storeID = form["store"] ?? ""
            return try await saveCredential("The public key", action: .storeKeySave, anchor: "stores", context, mode) {
                _ = try await services.stores.addKeys(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    storeID: storeID,
                    pem: form["public_key"] ?? "",
                    limits: try Self.requestedLimits(form),
                    by: .member(principal.role)
                )
                return storeID
            }
        }
    }

    static func storeKeyIndex(_ context: CabinetContext) throws -> Int {
        guard let index = Int(try context.parameters.require("index")), (1...99).contains(index) else {
            throw KeywardError(.notFound, .resourceMissing, "There is no such key index.")
        }
        return index
    }
}
