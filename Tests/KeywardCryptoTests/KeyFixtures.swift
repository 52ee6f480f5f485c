import Foundation

/// Keys and certificates made by the openssl CLI (an independent implementation) in a temp folder.
struct KeyFixtures {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kw-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    @discardableResult
    func openssl(_ arguments: [String], stdin: Data? = nil) throws -> String {
        try Shell.run("/usr/bin/openssl", arguments, stdin: stdin)
    }

    /// An RSA key of `bits` as PKCS#8 (`name`.pem) plus its SPKI (`name`.pub) and PKCS#1 forms.
    func rsa(_ name: String, bits: Int = 2048) throws {
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:\(bits)", "-out", path("\(name).pem")])
        try openssl(["pkey", "-in", path("\(name).pem"), "-pubout", "-out", path("\(name).pub")])
        try openssl(["pkey", "-in", path("\(name).pem"), "-traditional", "-out", path("\(name).pkcs1.pem")])
        try openssl(["rsa", "-in", path("\(name).pem"), "-RSAPublicKey_out", "-out", path("\(name).pkcs1.pub")])
    }

    /// A self-signed certificate for key `name`, valid `days` days.
    func certificate(_ name: String, days: Int = 30) throws {
        try openssl(["req", "-x509", "-key", path("\(name).pem"), "-subj", "/CN=\(name)", "-days", "\(days)", "-out", path("\(name).crt")])
    }

    static var pythonPeer: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("peers/provider_peer.py").path
    }

    func python(_ arguments: [String], stdin: Data? = nil) throws -> String {
        try Shell.run("/usr/bin/env", ["python3", Self.pythonPeer] + arguments, stdin: stdin)
    }
}
