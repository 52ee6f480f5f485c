import Foundation
import Hummingbird
import KeywardCore

/// Members of several merchants switch between them from the overview. A switch starts a new session
/// for the other merchant (the old one ends) and carries the second factor already given: it is the
/// same person on the same device; the other merchant's role decides what they may do there.
extension CabinetController {
    func addMerchantSwitchRoutes(to cabinet: CabinetRoutes) {
        cabinet.post("switch", .member) { request, context -> Response in
            let (principal, form) = (context.principal, context.form)
            let target = form["merchant"] ?? ""
            guard try await services.team.membership(userID: principal.user.id, merchantID: target) != nil else {
                throw KeywardError(.notFound, .resourceMissing, "You are not a member of that merchant.")
            }
            return try await signedInAgain(context, request: request, merchantID: target, to: "/cabinet")
        }
    }

    /// The other merchants the member belongs to, for the overview's switcher.
    func otherMerchants(_ principal: CabinetPrincipal) async throws -> [MerchantOption] {
        var options: [MerchantOption] = []
        for id in try await services.team.merchants(userID: principal.user.id) where id != principal.merchant.id {
            options.append(MerchantOption(id: id, name: try await services.merchants.get(id: id).name))
        }
        return options.sorted { $0.name < $1.name }
    }
}

struct MerchantOption: Sendable { let id: String, name: String }
