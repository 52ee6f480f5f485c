import Foundation

/// pebble-challtestsrv as a DNS server on loopback (Let's Encrypt's test DNS, shipped with Debian's
/// `pebble`): answers A queries for every name with 127.0.0.1 (no AAAA), and TXT records set through
/// its management API. Domain verification tests point `verification_dns_resolver` at it.
public struct ChallengeDNS: Sendable {
    /// `127.0.0.1:<port>`, the resolver address.
    public let address: String
    public let managementURL: String
    let pid: Int32

    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble-challtestsrv") }

    /// Starts challtestsrv (DNS only) and waits until its management API answers.
    public static func start(log: String? = nil) async throws -> ChallengeDNS {
        guard isInstalled else { throw Shell.Failure(description: "pebble-challtestsrv is not installed. \(Shell.installHint)") }
        let ports = try Pebble.freePorts(2)
        let logPath = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("challtestsrv-\(UUID().uuidString).log").path
        let pid = try Pebble.launch(
            "/usr/bin/pebble-challtestsrv",
            [
                "-dns01", "127.0.0.1:\(ports[0])", "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", "127.0.0.1:\(ports[1])", "-defaultIPv6", "",
            ],
            environment: [:],
            log: logPath
        )
        let dns = ChallengeDNS(address: "127.0.0.1:\(ports[0])", managementURL: "http://127.0.0.1:\(ports[1])", pid: pid)
        for _ in 0..<100 {
            if (try? await dns.post("/clear-txt", ["host": "ready.invalid."])) != nil { return dns }
            try await Task.sleep(for: .milliseconds(100))
        }
        dns.stop()
        throw Shell.Failure(description: "pebble-challtestsrv did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    /// Publishes a TXT record (replacing the name's earlier ones).
    public func setTXT(_ name: String, _ value: String) async throws {
        try await post("/set-txt", ["host": name.hasSuffix(".") ? name : name + ".", "value": value])
    }

    public func clearTXT(_ name: String) async throws {
        try await post("/clear-txt", ["host": name.hasSuffix(".") ? name : name + "."])
    }

    public func stop() {
        kill(pid, SIGTERM)
    }

    func post(_ path: String, _ body: [String: String]) async throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        try await Shell.runDetached("/usr/bin/curl", ["-sf", "-X", "POST", "-d", json, managementURL + path])
    }
}
