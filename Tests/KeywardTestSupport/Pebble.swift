import Foundation

/// Let's Encrypt's test CA, pebble, with pebble-challtestsrv as its DNS (every name resolves to
/// 127.0.0.1), on free ports, for one test. Pebble validates HTTP-01 on `httpPort`, where the test runs
/// Keyward's plain HTTP listener. `PEBBLE_VA_NOSLEEP=1` keeps validation fast; pebble still rejects a
/// share of nonces at random, so clients meet `badNonce` for real.
public struct Pebble: Sendable {
    public let directoryURL: String
    /// Pebble's own HTTPS certificate: what a client trusts to reach the directory.
    public let caBundlePath: String
    public let httpPort: Int
    public let managementURL: String
    /// Its DNS (challtestsrv): every name is 127.0.0.1; TXT records can be published.
    public let dns: ChallengeDNS
    let pids: [Int32]
    let directory: String

    /// Whether pebble and challtestsrv are installed (`scripts/test` installs them; the tests require them).
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble-challtestsrv")
    }

    /// Starts challtestsrv and pebble and waits for the directory. `eab` makes pebble require external
    /// account binding with key id `kid-1` and `eabHMACKey`.
    public static func start(eab: Bool = false, extraEnvironment: [String: String] = [:]) async throws -> Pebble {
        guard isInstalled else { throw Shell.Failure(description: "pebble is not installed. \(Shell.installHint)") }
        // The ports are free when picked but released before pebble binds them, so a test running at the
        // same moment can take one; pebble then exits with "address already in use". Pick again then.
        var lastFailure: Error?
        for _ in 0..<4 {
            do {
                return try await startOnce(eab: eab, extraEnvironment: extraEnvironment)
            } catch let failure as PortTaken {
                lastFailure = failure
            }
        }
        throw lastFailure ?? Shell.Failure(description: "pebble did not start")
    }

    struct PortTaken: Error, CustomStringConvertible {
        let log: String
        var description: String { "pebble could not bind its ports: \(log)" }
    }

    static func startOnce(eab: Bool, extraEnvironment: [String: String]) async throws -> Pebble {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pebble-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ports = try freePorts(4)
        try Shell.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2",
            ]
        )
        var config: [String: Any] = [
            "listenAddress": "127.0.0.1:\(ports[0])", "managementListenAddress": "127.0.0.1:\(ports[1])",
            "certificate": directory + "/cert.pem", "privateKey": directory + "/key.pem",
            "httpPort": ports[2], "tlsPort": ports[3], "ocspResponderURL": "", "externalAccountBindingRequired": eab,
        ]
        if eab { config["externalAccountMACKeys"] = ["kid-1": eabHMACKey] }
        try JSONSerialization.data(withJSONObject: ["pebble": config]).write(to: URL(fileURLWithPath: directory + "/config.json"))
        let dns = try await ChallengeDNS.start(log: directory + "/challtestsrv.log")
        var environment = ["PEBBLE_VA_NOSLEEP": "1"]
        environment.merge(extraEnvironment) { $1 }
        let pebble = try launch(
            "/usr/bin/pebble",
            ["-config", directory + "/config.json", "-dnsserver", dns.address],
            environment: environment,
            log: directory + "/pebble.log"
        )
        let server = Pebble(
            directoryURL: "https://127.0.0.1:\(ports[0])/dir",
            caBundlePath: directory + "/cert.pem",
            httpPort: ports[2],
            managementURL: "https://127.0.0.1:\(ports[1])",
            dns: dns,
            pids: [pebble, dns.pid],
            directory: directory
        )
        // Up to a minute: on a loaded 2-core machine pebble's start-up (key generation) took more than 10 s.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? await Shell.runDetached("/usr/bin/curl", ["-sf", "--cacert", server.caBundlePath, server.directoryURL])) != nil {
                return server
            }
            if server.log.contains("address already in use") {
                server.stop()
                throw PortTaken(log: server.log)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw Shell.Failure(description: "pebble did not start: \((try? String(contentsOfFile: directory + "/pebble.log", encoding: .utf8)) ?? "")")
    }

    /// The HMAC key pebble is given for EAB key id `kid-1` (base64url).
    public static let eabHMACKey = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

    /// Stops both processes.
    public func stop() {
        for pid in pids { kill(pid, SIGTERM) }
    }

    /// The root pebble issues under (PEM), to verify issued chains with openssl.
    public func issuingRoot() throws -> String {
        try Shell.run("/usr/bin/curl", ["-sf", "--cacert", caBundlePath, managementURL + "/roots/0"])
    }

    /// pebble's log, for a failing test's message.
    public var log: String { (try? String(contentsOfFile: directory + "/pebble.log", encoding: .utf8)) ?? "" }

    static func launch(_ executable: String, _ arguments: [String], environment: [String: String], log: String) throws -> Int32 {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? handle.close() }
        let environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        return try ChildProcess(
            executable,
            arguments,
            environment: environment,
            stdout: .descriptor(handle.fileDescriptor),
            stderr: .descriptor(handle.fileDescriptor)
        ).pid
    }

    /// Ports nothing listens on right now (the kernel's pick for port 0).
    public static func freePorts(_ count: Int) throws -> [Int] {
        let script =
            "import socket\nss=[socket.socket() for _ in range(\(count))]\n[s.bind(('127.0.0.1',0)) for s in ss]\nprint(' '.join(str(s.getsockname()[1]) for s in ss))"
        return try Shell.run("/usr/bin/python3", ["-c", script]).split(separator: " ").compactMap { Int($0) }
    }
}
