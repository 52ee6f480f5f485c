import Foundation
import Hummingbird
import KeywardCore
import KeywardCrypto

/// The Certificates page (certificates.read): status badges, days left, an SVG timeline of expiries;
/// upload (certificates.write, and keys.live for live mode) with every finding explained.
extension CabinetController {
    static let chartDays = 120

    func addCertificateRoutes(to cabinet: CabinetRoutes) {
        cabinet.get("certificates", .needs(.read(.certificates))) { _, context -> Response in
            try await certificatesPage(context, message: nil, findings: [], status: .ok)
        }
        cabinet.post("certificates", .needs(.write(.certificates))) { _, context -> Response in
            let (principal, form, mode) = (context.principal, context.upload, context.mode)
            var files = (form.files["files"] ?? []).map(\.bytes)
            if let pasted = form.fields["pem"], !pasted.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { files.append(Array(pasted.utf8)) }
            guard !files.isEmpty else {
                return try await certificatesPage(
                    context,
                    message: "Choose the certificate and key files, or paste them.",
                    findings: [],
                    status: .badRequest
                )
            }
            do {
                let stored = try await services.certificates.upload(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    type: .ssl,
                    name: nil,
                    files: files,
                    passphrase: form.fields["passphrase"].flatMap { $0.isEmpty ? nil : Array($0.utf8) }
                )
                await recordChange(
                    merchantID: principal.merchant.id,
                    mode: mode,
                    actor: principal.auditActor,
                    action: .certificateUpload,
                    targetID: stored.info.id
                )
                return .redirect(to: "/cabinet/certificates", type: .normal)
            } catch let refusal as CertificateUploadRefusal {
                return try await certificatesPage(
                    context,
                    message: "The upload was refused; nothing was stored.",
                    findings: refusal.findings.filter { $0.severity == .error }.map { "\($0.message) (\($0.code))" },
                    status: .badRequest
                )
            } catch let error as CertificateFileError {
                return try await certificatesPage(context, message: "\(error.message) (\(error.code))", findings: [], status: .badRequest)
            }
        }
        addApplePayRoutes(to: cabinet)
        addChannelRoutes(to: cabinet)
    }

    func certificatesPage(_ context: CabinetContext, message: String?, findings: [String], status: HTTPResponse.Status) async throws -> Response {
        let principal = context.principal
        let now = services.clock.now()
        var view = CabinetPage(context, title: "Certificates", message: message)
        view.findings = findings
        view.canWrite = principal.role.permissions.contains(.certificatesWrite)
        var infos: [CertificateInfo] = []
        for mode in Mode.allCases {
            infos += try await services.certificates.list(merchantID: principal.merchant.id, mode: mode, limit: 1000, withPEM: false)
        }
        infos.sort { $0.notAfter < $1.notAfter }
        view.certificates = infos.map {
            CertificateRow(
                name: $0.name,
                status: $0.status(at: now).rawValue,
                daysLeft: $0.daysLeft(at: now),
                notAfter: CabinetDates.day($0.notAfter),
                mode: $0.mode.rawValue,
                type: $0.type.rawValue,
                names: $0.names.joined(separator: ", "),
                issuer: $0.issuer
            )
        }
        view.hasCertificates = !infos.isEmpty
        let chart = ExpiryTimeline(certificates: infos.prefix(40).map { ($0.name, $0.status(at: now), $0.daysLeft(at: now)) }, days: Self.chartDays)
        view.chartWidth = chart.width
        view.chartHeight = chart.height
        view.chartDays = Self.chartDays
        view.axisY = chart.axisY
        view.ticks = chart.ticks
        view.bars = chart.bars
        let modes = Mode.allCases
        view.channelRowsHTML = try await channelRows(merchantID: principal.merchant.id, modes: modes)
        view.applePayRowsHTML = try await applePayRows(merchantID: principal.merchant.id, modes: modes)
        view.banner = try await banner(merchantID: principal.merchant.id, now: now)
        return try page("certificates", view, status: status)
    }

    func applePayRows(merchantID: String, modes: [Mode]) async throws -> String {
        let e = HTML.escape
        var html = ""
        for mode in modes {
            for request in try await services.applePayRequests.list(merchantID: merchantID, mode: mode) {
                html +=
                    "<tr><td><a href=\"/cabinet/apple-pay/requests/\(e(request.id))?mode=\(mode.rawValue)\">\(e(request.name))</a></td><td>\(mode.rawValue)</td>"
                    + "<td>\(e(Self.title(request.type)))</td><td>\(e(request.keyType))</td>"
                    + "<td>\(request.certificateID == nil ? "waiting for Apple's certificate" : "certificate stored")</td></tr>\n"
            }
        }
        return html
    }
}

/// The SVG timeline's geometry: one bar per certificate, as long as its days left (on a 0..days
/// scale), coloured by status; computed here so the template only places numbers.
struct ExpiryTimeline {
    struct Bar: Sendable {
        let name: String
        let status: String
        let daysLeft: Int
        let y: Int
        let textY: Int
        let width: Int
        let labelX: Int
        let color: String
    }
    struct Tick: Sendable {
        let x: Int
        let y: Int
        let label: String
    }

    let width = 720
    let height: Int
    let axisY: Int
    let bars: [Bar]
    let ticks: [Tick]

    init(certificates: [(name: String, status: CertificateStatus, daysLeft: Int)], days: Int) {
        let rowHeight = 22
        axisY = certificates.count * rowHeight + 6
        height = axisY + 18
        let scale = Double(width - 160) / Double(days)
        bars = certificates.enumerated().map { index, certificate in
            let length = max(2, Int(Double(min(max(certificate.daysLeft, 0), days)) * scale))
            let color =
                switch certificate.status {
                case .expired, .critical: "#c92a2a"
                case .expiring: "#e67700"
                case .valid: "#2f9e44"
                }
            return Bar(
                name: certificate.name,
                status: certificate.status.rawValue,
                daysLeft: certificate.daysLeft,
                y: index * rowHeight + 4,
                textY: index * rowHeight + 15,
                width: length,
                labelX: length + 6,
                color: color
            )
        }
        let tickY = axisY + 14
        ticks = stride(from: 0, through: days, by: 30).map { Tick(x: Int(Double($0) * scale), y: tickY, label: "\($0)d") }
    }
}
