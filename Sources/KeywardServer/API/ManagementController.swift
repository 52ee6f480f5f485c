import Foundation
import Hummingbird
import KeywardCore

/// `/v1/manage/…`: secret keys, payment keys and order hashes of the calling key's merchant and mode.
/// A test key manages test objects only; a live key live objects only.
struct ManagementController {
    let secretKeys: SecretKeyService
    let paymentKeys: PaymentKeyService
    let clock: KeywardClock

    func addRoutes(to manage: ManageRoutes) {
        manage.listRoute("keys") { key, page in
            let now = clock.now()
            return try await secretKeys.list(merchantID: key.merchantID, mode: key.mode, limit: page.fetchLimit, startingAfter: page.startingAfter)
                .map { SecretKeyResource($0, now: now) }
        }
        manage.post("keys", needs: .write(.credentials), use: createKey)
        manage.get("keys/:id", needs: .read(.credentials)) { _, context in
            let key = context.principal
            let info = try await secretKeys.get(merchantID: key.merchantID, mode: key.mode, id: try context.parameters.require("id"))
            return try JSONResponse.make(SecretKeyResource(info, now: clock.now()))
        }
        manage.rollRoute("keys") { target, overlap in
            let created = try await secretKeys.roll(
                merchantID: target.key.merchantID,
                mode: target.key.mode,
                id: target.id,
                overlapSeconds: overlap,
                by: .key(target.key)
            )
            return SecretKeyResource(created.info, now: clock.now(), secret: created.secret)
        }
        manage.revokeRoute("keys") { target in
            SecretKeyResource(try await secretKeys.revoke(merchantID: target.key.merchantID, mode: target.key.mode, id: target.id), now: clock.now())
        }
        manage.listRoute("payment-keys") { key, page in
            let now = clock.now()
            return try await paymentKeys.list(merchantID: key.merchantID, mode: key.mode, limit: page.fetchLimit, startingAfter: page.startingAfter)
                .map { PaymentKeyResource($0, now: now) }
        }
        manage.post("payment-keys", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(CreatePaymentKeyBody.self, from: request)
            let created = try await paymentKeys.create(
                merchantID: key.merchantID,
                mode: key.mode,
                label: body.label,
                importing: body.value,
                by: .key(key)
            )
            return try JSONResponse.make(PaymentKeyResource(created.info, now: clock.now(), secret: created.secret), status: .created)
        }
        manage.rollRoute("payment-keys") { target, overlap in
            let created = try await paymentKeys.roll(
                merchantID: target.key.merchantID,
                mode: target.key.mode,
                id: target.id,
                overlapSeconds: overlap,
                by: .key(target.key)
            )
            return PaymentKeyResource(created.info, now: clock.now(), secret: created.secret)
        }
        manage.revokeRoute("payment-keys") { target in
            PaymentKeyResource(
                try await paymentKeys.revoke(merchantID: target.key.merchantID, mode: target.key.mode, id: target.id),
                now: clock.now()
            )
        }
        manage.post("order-hash", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(OrderHashBody.self, from: request)
            guard body.hash == nil else {
                throw KeywardError(.invalidInput, .unknownField, "'hash' belongs to /v1/manage/order-hash/verify.", field: "hash")
            }
            let result = try await paymentKeys.orderHash(
                merchantID: key.merchantID,
                mode: key.mode,
                paymentKeyID: body.payment_key_id,
                orderID: body.order_id,
                amount: body.amount,
                currency: body.currency
            )
            return try JSONResponse.make(OrderHashResource(hash: result.hash, path: result.path, payment_key_id: result.paymentKeyID))
        }
        manage.post("order-hash/verify", needs: .write(.credentials)) { request, context in
            let key = context.principal
            let body = try await JSONBody.decode(OrderHashBody.self, from: request)
            guard let hash = body.hash else {
                throw KeywardError(.invalidInput, .missingField, "'hash' is required.", field: "hash")
            }
            let valid = try await paymentKeys.verifyOrderHash(
                merchantID: key.merchantID,
                mode: key.mode,
                paymentKeyID: body.payment_key_id,
                orderID: body.order_id,
                amount: body.amount,
                currency: body.currency,
                hash: hash
            )
            return try JSONResponse.make(OrderHashVerification(valid: valid))
        }
    }

    @Sendable func createKey(_ request: Request, context: ManageContext) async throws -> Response {
        let key = context.principal
        let body = try await JSONBody.decode(CreateSecretKeyBody.self, from: request)
        let options = SecretKeyOptions(
            name: body.name,
            expiresAt: try Timestamp.parse(body.expires_at, field: "expires_at"),
            permissions: try PermissionList.requested(body.permissions, by: key),
            allowedIPs: body.allowed_ips
        )
        // Never wider than the caller: a restricted caller's limits are the default and the ceiling.
        let created = try await secretKeys.create(merchantID: key.merchantID, mode: key.mode, options: options, by: .key(key))
        return try JSONResponse.make(SecretKeyResource(created.info, now: clock.now(), secret: created.secret), status: .created)
    }
}
