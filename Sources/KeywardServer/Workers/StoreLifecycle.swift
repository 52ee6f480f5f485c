import Foundation
import KeywardCore
import KeywardCrypto
import KeywardDialects
import Logging
import ServiceLifecycle

/// Closes the store when the server stops. Registered first so it stops last.
struct StoreLifecycle: Service {
    let store: KeywardStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.shutdown()
    }
}
