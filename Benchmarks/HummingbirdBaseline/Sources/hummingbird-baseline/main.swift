import Hummingbird
import Logging
import NIOCore
import NIOPosix

_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18182
let router = Router()
router.get("v1/auth/test") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json"],
             body: .init(byteBuffer: ByteBuffer(string: #"{"key_id":"key_0000000000000000000000","mode":"test"}"#)))
}
var logger = Logger(label: "baseline")
logger.logLevel = .warning
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
try await app.runService()
