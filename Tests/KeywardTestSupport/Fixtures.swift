import Foundation
import Synchronization

/// Runs the real peer programs tests compare against (openssl, Python scripts under `Tests/peers`).
public enum Shell {
    /// A peer that exited non-zero (for a verifier: the signature did not verify), with its stderr.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `executable` and returns its standard output, trimmed; throws `Failure` on a non-zero exit.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws -> String {
        let (status, output, errors) = try capture(executable, arguments, stdin: stdin)
        guard status == 0 else {
            let text = String(decoding: errors, as: UTF8.self)
            throw Failure(description: "\(executable) exited \(status): \(text)\(missingPeerHint(status: status, errors: text))")
        }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every peer a test runs is required (a test never skips for want of one): this says how to get them.
    public static let installHint = "`scripts/test` (the README's test command) installs every program and Python package the tests run."

    /// A hint for a peer that could not run: `env` found no such program (127), or Python lacks a package.
    static func missingPeerHint(status: Int32, errors: String) -> String {
        status == 127 || errors.contains("ModuleNotFoundError") || errors.contains("No module named") ? "\n" + installHint : ""
    }

    /// Runs `executable` to its end: its exit status, standard output and standard error. Standard input
    /// is written and standard error read on threads of their own, so a peer that fills one pipe while
    /// we wait on another cannot deadlock us.
    public static func capture(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws -> (Int32, Data, Data) {
        signal(SIGPIPE, SIG_IGN)  // a peer that exits before reading its input must not kill the test process
        let input = try ChildPipe()
        let output = try ChildPipe()
        let errors = try ChildPipe()
        let child: ChildProcess
        do {
            child = try ChildProcess(
                executable,
                arguments,
                stdin: .descriptor(input.readEnd),
                stdout: .descriptor(output.writeEnd),
                stderr: .descriptor(errors.writeEnd)
            )
        } catch {
            for fd in [input.readEnd, input.writeEnd, output.readEnd, output.writeEnd, errors.readEnd, errors.writeEnd] { close(fd) }
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw Failure(description: "\(executable) is not installed. \(installHint)")
            }
            throw error
        }
        for fd in [input.readEnd, output.writeEnd, errors.writeEnd] { close(fd) }
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            if let stdin { ChildPipe.writeAll(stdin, to: input.writeEnd) }
            close(input.writeEnd)
        }
        let errorData = Mutex(Data())
        DispatchQueue.global().async(group: done) {
            let data = ChildPipe.readAll(errors.readEnd)
            errorData.withLock { $0 = data }
        }
        let data = ChildPipe.readAll(output.readEnd)
        done.wait()
        close(output.readEnd)
        close(errors.readEnd)
        return (child.wait(), data, errorData.withLock { $0 })
    }

    /// `run` on a thread of its own: a test that waits for a peer talking to our in-process server must
    /// not block the few cooperative threads the server's handlers need.
    @discardableResult
    public static func runDetached(_ executable: String, _ arguments: [String], stdin: Data? = nil) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try run(executable, arguments, stdin: stdin) as String })
            }
        }
    }
}

/// Keys and certificates made by the openssl CLI (an independent implementation) in a fresh temp folder.
public struct KeyFixtures: Sendable {
    public let directory: String

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kw-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    public func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    public func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    @discardableResult
    public func openssl(_ arguments: [String], stdin: Data? = nil) throws -> String {
        try Shell.run("/usr/bin/openssl", arguments, stdin: stdin)
    }

    /// An RSA key of `bits`: `name`.pem (PKCS#8), `name`.pub (SPKI), `name`.pkcs1.pem, `name`.pkcs1.pub
    /// and a self-signed `name`.crt valid 30 days.
    public func rsa(_ name: String, bits: Int = 2048) throws {
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)", "-out", path("\(name).pem")])
        try openssl(["pkey", "-in", path("\(name).pem"), "-pubout", "-out", path("\(name).pub")])
        try openssl(["pkey", "-in", path("\(name).pem"), "-traditional", "-out", path("\(name).pkcs1.pem")])
        try openssl(["rsa", "-in", path("\(name).pem"), "-RSAPublicKey_out", "-out", path("\(name).pkcs1.pub")])
        try certificate(name)
    }

    /// A self-signed certificate `name`.crt for key `name`.pem, valid `days` days.
    public func certificate(_ name: String, days: Int = 30) throws {
        try openssl(["req", "-x509", "-key", path("\(name).pem"), "-subj", "/CN=\(name)", "-days", "\(days)", "-out", path("\(name).crt")])
    }

    /// Runs the provider peer (`Tests/peers/provider_peer.py`: myPOS and AliKassa as their SDKs sign).
    public func python(_ arguments: [String], stdin: Data? = nil) throws -> String {
        try Shell.run("/usr/bin/env", ["python3", Peers.provider] + arguments, stdin: stdin)
    }
}

/// Paths of the foreign peer scripts.
public enum Peers {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("peers")
    /// myPOS / AliKassa, Python `cryptography`.
    public static var provider: String { directory.appendingPathComponent("provider_peer.py").path }
    /// RFC 9421, Python `http-message-signatures`.
    public static var rfc9421: String { directory.appendingPathComponent("rfc9421_peer.py").path }
    /// JWE with Python `joserfc` or `jwcrypto`.
    public static var jose: String { directory.appendingPathComponent("jose_peer.py").path }
    /// An Alliance Bank session client (requests + jwcrypto + joserfc).
    public static var allianceClient: String { directory.appendingPathComponent("alliance_client.py").path }
    /// JWKs, Python `jwcrypto`.
    public static var jwk: String { directory.appendingPathComponent("jwk_peer.py").path }
    /// An SMTP server with TLS and AUTH (Python aiosmtpd).
    public static var smtp: String { directory.appendingPathComponent("smtp_peer.py").path }
    /// The cabinet in headless Chromium (selenium, pyotp).
    public static var cabinetBrowser: String { directory.appendingPathComponent("cabinet_browser.py").path }
    /// A software WebAuthn authenticator and client (Python `cryptography`, CBOR from `fido2`).
    public static var webauthn: String { directory.appendingPathComponent("webauthn_authenticator.py").path }
    /// Passkeys in headless Chromium with its virtual authenticator (selenium).
    public static var passkeyBrowser: String { directory.appendingPathComponent("passkey_browser.py").path }
    /// A secret scanner signing leak reports as GitHub does (Python `cryptography`).
    public static var scanner: String { directory.appendingPathComponent("scanner_peer.py").path }
    /// Where browser tests leave their screenshots: `.build/screenshots` of the package (not committed).
    public static var screenshots: String {
        directory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/screenshots").path
    }
}
