import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// Apple Pay certificates from the cabinet: Keyward makes the key (sealed) and the CSR to upload to
/// Apple's developer portal, then takes the `.cer` Apple returns (only for that key).
extension CabinetController {
    func addApplePayRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("apple-pay/requests", .needs(.write(.certificates))) { request, context -> Response in
            let (principal, form, mode) = (context.principal, context.form, context.mode)
            guard let type = CertificateType(rawValue: form["type"] ?? "") else {
                throw KeywardError(.invalidInput, .invalidType, "Choose the merchant identity or the payment processing certificate.", field: "type")
            }
            let created = try await services.applePayRequests.create(
                merchantID: principal.merchant.id,
                mode: mode,
                type: type,
                name: form["name"] ?? ""
            )
            await recordChange(
                merchantID: principal.merchant.id,
                mode: mode,
                actor: principal.auditActor,
                action: .applePayRequestCreate,
                targetID: created.id
            )
            return .redirect(to: "/cabinet/apple-pay/requests/\(created.id)?mode=\(mode.rawValue)", type: .normal)
        }
        // Certificates are public: reading needs no keys.live; changing live ones does.
        cabinet.get("apple-pay/requests/:id", .needs(.read(.certificates))) { _, context -> Response in
            try await applePayRequestPage(context, mode: context.mode, id: try context.parameters.require("id"), message: nil, status: .ok)
        }
        cabinet.post("apple-pay/requests/:id/certificate", .needs(.write(.certificates))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.upload, context.mode)
            let id = try context.parameters.require("id")
            guard let file = form.files["certificate"]?.first else {
                return try await applePayRequestPage(
                    context,
                    mode: mode,
                    id: id,
                    message: "Choose the .cer file Apple gave you.",
                    status: .badRequest
                )
            }
            do {
                let stored = try await services.applePayRequests.complete(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    id: id,
                    certificate: file.bytes
                )
                await recordChange(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    actor: principal.auditActor,
                    action: .applePayCertificateUpload,
                    targetID: stored.info.id
                )
            } catch let error as KeywardError where error.kind == .invalidInput || error.kind == .conflict {
                return try await applePayRequestPage(context, mode: mode, id: id, message: "\(error.message) (\(error.code))", status: .badRequest)
            } catch let error as CertificateFileError {
                return try await applePayRequestPage(context, mode: mode, id: id, message: "\(error.message) (\(error.code))", status: .badRequest)
            } catch let refusal as CertificateUploadRefusal {
                let reasons = refusal.findings.filter { $0.severity == .error }.map { "\($0.message) (\($0.code))" }.joined(separator: " ")
                return try await applePayRequestPage(context, mode: mode, id: id, message: reasons, status: .badRequest)
            }
            return .redirect(to: "/cabinet/certificates", type: .normal)
        }
    }

    func applePayRequestPage(
        _ context: CabinetContext,
        mode: Mode,
        id: String,
        message: String?,
        status: HTTPResponse.Status
    ) async throws -> Response {
        let principal = context.principal
        let info = try await services.applePayRequests.get(merchantID: principal.merchant.id, mode: mode, id: id)
        var view = CabinetPage(context, title: "Apple Pay certificate request", message: message)
        view.mode = mode.rawValue
        view.canWrite = context.may(.write(.certificates), mode: mode)
        view.applePayRequest = ApplePayRequestView(
            id: info.id,
            name: info.name,
            typeTitle: Self.title(info.type),
            keyType: info.keyType,
            csrPEM: info.csrPEM,
            completed: info.certificateID != nil,
            created: CabinetDates.minute(info.createdAt)
        )
        return try page("apple-pay-request", view, status: status)
    }

    static func title(_ type: CertificateType) -> String {
        switch type {
        case .applePayMerchantIdentity: "Apple Pay merchant identity"
        case .applePayPaymentProcessing: "Apple Pay payment processing"
        case .applePayIdentityProof: "Apple Pay identity proof"
        case .ssl: "TLS"
        }
    }
}

struct ApplePayRequestView: Sendable {
    let id: String, name: String, typeTitle: String, keyType: String, csrPEM: String
    let completed: Bool
    let created: String
}
