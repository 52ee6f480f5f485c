import KeywardCore
import Logging
import ServiceLifecycle

/// Runs domain verification in the background: at start, lapses verified domains that have become
/// reserved; then every `certificate_check_seconds` it checks what is due (unverified domains with
/// backoff, verified ones every `verification_recheck_hours`). Records are claimed with a lease, so
/// several instances share the work without checking a domain twice.
struct DomainVerificationWorkerService: Service {
    let verifications: DomainVerificationService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                let lapsed = try await verifications.lapseReservedDomains()
                if lapsed > 0 { logger.warning("verified domains that are now reserved were unverified", metadata: ["count": "\(lapsed)"]) }
            } catch {
                logger.warning("reserved domains could not be swept", metadata: ["error_type": "\(type(of: error))"])
            }
            while !Task.isCancelled {
                do {
                    let report = try await verifications.runDueChecks()
                    if report.lapsed > 0 { logger.notice("domains lost their verification", metadata: ["count": "\(report.lapsed)"]) }
                } catch {
                    logger.warning("domain verification checks could not run", metadata: ["error_type": "\(type(of: error))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
