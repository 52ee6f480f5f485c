import ArgumentParser
import Foundation
import KeywardCrypto
import KeywardDialects

extension ManualSigning.Dialect: ExpressibleByArgument {}
extension SignatureDigest: ExpressibleByArgument {}

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the signature a provider dialect expects for the request on standard input.",
        discussion: "mypos: the form body (k=v&k=v, URL-encoded, order kept) on stdin; prints the Signature value. alikassa: the raw body on stdin (byte for byte); prints the Sign header value.")
    @Option(help: "mypos or alikassa.") var dialect: ManualSigning.Dialect
    @Option(help: "Private key: PKCS#1 or PKCS#8 PEM (encrypted PKCS#8 with --passphrase-file).") var key: String
    @Option(name: .customLong("passphrase-file"), help: "File holding the passphrase of an encrypted key.") var passphraseFile: String?
    @Option(help: "sha256 (default) or sha1 (AliKassa legacy keys only).") var hash: SignatureDigest = .sha256

    func run() throws {
        let signingKey = try SignTools.privateKey(path: key, passphraseFile: passphraseFile)
        print(try ManualSigning.sign(dialect, input: SignTools.standardInput(), key: signingKey, digest: hash))
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a provider-dialect signature; exits 0 when valid, 1 (with the reason) when not.",
        discussion: "mypos: the signed form, with its Signature, on stdin. alikassa: the raw body on stdin and the Sign value in --signature.")
    @Option(help: "mypos or alikassa.") var dialect: ManualSigning.Dialect
    @Option(name: .customLong("public-key"), help: "Certificate or public key PEM (SPKI or PKCS#1).") var publicKey: String
    @Option(help: "The Sign header value (alikassa).") var signature: String?
    @Option(help: "sha256 (default) or sha1 (AliKassa legacy keys only).") var hash: SignatureDigest = .sha256

    func run() throws {
        let pem = try String(contentsOfFile: publicKey, encoding: .utf8)
        guard let key = try PublicKeyImport.parse(pem: pem, minimumRSABits: 1024).first?.key else {
            throw ValidationError("no public key in \(publicKey)")
        }
        switch try ManualSigning.verify(dialect, input: SignTools.standardInput(), publicKey: key, signature: signature, digest: hash) {
        case .valid:
            print("valid")
        case .invalid(let code, let reason):
            FileHandle.standardError.write(Data("invalid (\(code)): \(reason)\n".utf8))
            throw ExitCode(1)
        }
    }
}

enum SignTools {
    static func standardInput() -> [UInt8] { Array(FileHandle.standardInput.readDataToEndOfFile()) }

    /// Reads a private key; 1024-bit keys (the public myPOS sandbox) are accepted here with a warning.
    static func privateKey(path: String, passphraseFile: String?) throws -> RSASigningKey {
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        var passphrase: [UInt8]?
        if let passphraseFile {
            guard let data = FileManager.default.contents(atPath: passphraseFile) else { throw ValidationError("cannot read \(passphraseFile)") }
            var bytes = Array(data)
            while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
            passphrase = bytes
        }
        let key = try RSASigningKey(pem: pem, passphrase: passphrase, minimumBits: 1024)
        if key.bits < 2048 {
            FileHandle.standardError.write(Data("warning: \(key.bits)-bit RSA key; live mode requires 2048 bits or more\n".utf8))
        }
        return key
    }
}
