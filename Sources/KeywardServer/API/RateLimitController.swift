import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// `/v1/manage/rate-limits`: the merchant-wide limit of each mode and any credential's own limit.
/// Limits are merchant-wide settings: a live-mode key with `settings.write` changes them, for either mode.
struct RateLimitController {
    let limits: RateLimitSettings

    func addRoutes(to manage: ManageRoutes) {
        manage.get("rate-limits", needs: .read(.settings, scope: .merchant)) { _, context in
            let entries = try await limits.list(merchantID: context.principal.merchantID)
            var data: [RateLimitResource] = []
            for mode in [Mode.live, .test] where !entries.contains(where: { $0.subject == "merchant" && $0.mode == mode }) {
                data.append(RateLimitResource(default: limits.defaultPolicy(mode), mode: mode))
            }
            data += entries.map(RateLimitResource.init)
            data.sort { ($0.mode, $0.subject == "merchant" ? "" : $0.subject) < ($1.mode, $1.subject == "merchant" ? "" : $1.subject) }
            return try JSONResponse.make(ListResource(data: data, has_more: false))
        }
        manage.put("rate-limits/:mode/:subject", needs: .write(.settings, scope: .merchant)) { request, context in
            let body = try await JSONBody.decode(RateLimitBody.self, from: request)
            let entry = try await limits.set(
                merchantID: context.principal.merchantID,
                mode: try Self.mode(context),
                subject: try Self.subject(context),
                quota: body.quota,
                windowSeconds: body.window_seconds ?? 1
            )
            return try JSONResponse.make(RateLimitResource(entry))
        }
        manage.delete("rate-limits/:mode/:subject", needs: .write(.settings, scope: .merchant)) { _, context in
            let subject = try Self.subject(context)
            guard try await limits.remove(merchantID: context.principal.merchantID, mode: try Self.mode(context), subject: subject) else {
                throw KeywardError(.notFound, .resourceMissing, "No rate limit of its own is set for '\(subject.prefix(64))' in that mode.")
            }
            return Response(status: .noContent)
        }
    }

    static func mode(_ context: ManageContext) throws -> Mode {
        guard let mode = context.parameters.get("mode").flatMap(Mode.init(rawValue:)) else {
            throw KeywardError(.invalidInput, .invalidMode, "The mode in the path is 'live' or 'test'.", field: "mode")
        }
        return mode
    }

    static func subject(_ context: ManageContext) throws -> String {
        let subject = try context.parameters.require("subject")
        guard subject.count <= 64, subject.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw KeywardError(.invalidInput, .invalidSubject, "The subject is 'merchant' or a credential's id.", field: "subject")
        }
        return subject
    }
}

struct RateLimitBody: StrictJSONBody {
    static let fields: Set<String> = ["quota", "window_seconds"]
    let quota: Int
    let window_seconds: Int?
}

struct RateLimitResource: Encodable {
    let object = "rate_limit"
    /// `merchant` or a credential's id.
    let subject: String
    let mode: String
    let quota: Int
    let window_seconds: Int
    /// True for a mode's merchant limit nobody set (the default applies).
    let `default`: Bool
    let updated_at: String?

    init(_ entry: RateLimitSettings.Entry) {
        subject = entry.subject
        mode = entry.mode.rawValue
        quota = entry.quota
        window_seconds = entry.windowSeconds
        `default` = false
        updated_at = Timestamp.format(entry.updatedAt)
    }

    init(default policy: RateLimitPolicy, mode: Mode) {
        subject = "merchant"
        self.mode = mode.rawValue
        quota = policy.quota
        window_seconds = policy.windowSeconds
        `default` = true
        updated_at = nil
    }
}
