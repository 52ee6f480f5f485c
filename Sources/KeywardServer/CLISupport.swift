import Foundation
import KeywardCore
import KeywardCrypto
import KeywardDialects
import Logging
import ServiceLifecycle

/// Runs `keyward master-key rotate` against these services' store and key files.
public func rotateMasterKey(
    _ services: KeywardServices,
    announcementWait: Duration = MasterKeyAnnouncements.defaultSettle + .seconds(1)
) async throws -> MasterKeyRotation.Report {
    try await MasterKeyRotation(
        store: services.store,
        files: MasterKeyFiles(path: services.settings.effectiveMasterKeyFile),
        sealedFiles: services.sealedFiles,
        announcementWait: announcementWait,
        clock: services.clock
    ).run()
}

/// The order-hash computation the CLI exposes (pure; no database).
public enum OrderHashCLI {
    public static func compute(key: String, mid: String, order: String, amount: String, currency: String) -> (hash: String, path: String) {
        (
            KashierOrderHash.compute(paymentKey: key, mid: mid, orderID: order, amount: amount, currency: currency),
            KashierOrderHash.path(mid: mid, orderID: order, amount: amount, currency: currency)
        )
    }
}
