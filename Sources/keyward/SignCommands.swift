import ArgumentParser
import Foundation
import KeywardCrypto
import KeywardDialects

extension ManualSigning.Dialect: ExpressibleByArgument {}

/// Dialects `keyward sign` speaks: the provider dialects and RFC 9421.
enum SignDialect: String, ExpressibleByArgument, CaseIterable { case mypos, alikassa, rfc9421 }
extension SignatureDigest: ExpressibleByArgument {}

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the signature a provider dialect expects for the request on standard input.",
        discussion:
            "mypos: the form body (k=v&k=v, URL-encoded, order kept) on stdin; prints the Signature value. alikassa: the raw body on stdin (byte for byte); prints the Sign header value. rfc9421: the body (may be empty) on stdin, with --url, --keyid and --method; prints the Content-Digest, Signature-Input and Signature header lines."
    )
    @Option(help: "mypos, alikassa or rfc9421.") var dialect: SignDialect
    @Option(help: "Private key PEM: RSA PKCS#1/PKCS#8 (encrypted PKCS#8 with --passphrase-file); for rfc9421 also EC P-256/P-384 and Ed25519.")
    var key: String
    @Option(name: .customLong("passphrase-file"), help: "File holding the passphrase of an encrypted key.") var passphraseFile: String?
    @Option(help: "sha256 (default) or sha1 (AliKassa legacy keys only).") var hash: SignatureDigest = .sha256
    @Option(help: "rfc9421: the request URL.") var url: String?
    @Option(help: "rfc9421: the signing key id (sgk_…).") var keyid: String?
    @Option(help: "rfc9421: the HTTP method (default POST with a body, GET without).") var method: String?

    func run() throws {
        switch dialect {
        case .mypos, .alikassa:
            let signingKey = try SignTools.privateKey(path: key, passphraseFile: passphraseFile)
            let provider: ManualSigning.Dialect = dialect == .mypos ? .mypos : .alikassa
            print(try ManualSigning.sign(provider, input: SignTools.standardInput(), key: signingKey, digest: hash))
        case .rfc9421:
            guard let url, let keyid else { throw ValidationError("rfc9421 needs --url and --keyid") }
            let body = SignTools.standardInput()
            let signingKey = try HTTPSigningKey(
                pem: try String(contentsOfFile: key, encoding: .utf8),
                passphrase: try SignTools.passphrase(passphraseFile)
            )
            let headers = try ManualSigning.signRFC9421(
                method: method ?? (body.isEmpty ? "GET" : "POST"),
                url: url,
                body: body,
                key: signingKey,
                keyID: keyid,
                created: Int(Date().timeIntervalSince1970),
                nonce: UUID().uuidString
            )
            for header in headers { print("\(header.name): \(header.value)") }
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a signature; exits 0 when valid, 1 (with the reason) when not.",
        discussion:
            "mypos: the signed form, with its Signature, on stdin. alikassa: the raw body on stdin and the Sign value in --signature. rfc9421: the body (may be empty) on stdin, with --method, --url and each received header as --header 'Name: value' (Signature-Input, Signature, Content-Digest)."
    )
    @Option(help: "mypos, alikassa or rfc9421.") var dialect: SignDialect
    @Option(name: .customLong("public-key"), help: "Certificate or public key PEM (SPKI or PKCS#1).") var publicKey: String
    @Option(help: "The Sign header value (alikassa).") var signature: String?
    @Option(help: "sha256 (default) or sha1 (AliKassa legacy keys only).") var hash: SignatureDigest = .sha256
    @Option(help: "rfc9421: the request URL as the client sent it.") var url: String?
    @Option(help: "rfc9421: the HTTP method (default POST with a body, GET without).") var method: String?
    @Option(name: .customLong("header"), help: "rfc9421: a received header, 'Name: value' (repeat).") var headers: [String] = []
    @Flag(name: .customLong("ignore-time"), help: "rfc9421: judge the signature alone, not its created/expires times.") var ignoreTime = false

    func run() throws {
        let pem = try String(contentsOfFile: publicKey, encoding: .utf8)
        guard let key = try PublicKeyImport.parse(pem: pem, minimumRSABits: 1024).first?.key else {
            throw ValidationError("no public key in \(publicKey)")
        }
        let input = SignTools.standardInput()
        let result: SignatureCheck
        switch dialect {
        case .mypos, .alikassa:
            result = try ManualSigning.verify(
                dialect == .mypos ? .mypos : .alikassa,
                input: input,
                publicKey: key,
                signature: signature,
                digest: hash
            )
        case .rfc9421:
            guard let url else { throw ValidationError("rfc9421 needs --url") }
            let fields = try headers.map { line -> (name: String, value: String) in
                guard let colon = line.firstIndex(of: ":") else { throw ValidationError("--header takes 'Name: value', got '\(line.prefix(40))'") }
                return (
                    String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                )
            }
            result = try ManualSigning.verifyRFC9421(
                method: method ?? (input.isEmpty ? "GET" : "POST"),
                url: url,
                body: input,
                headers: fields,
                publicKey: key,
                now: Int(Date().timeIntervalSince1970),
                ignoreTime: ignoreTime
            )
        }
        switch result {
        case .valid:
            print("valid")
        case .invalid(let code, let reason):
            FileHandle.standardError.write(Data("invalid (\(code)): \(reason)\n".utf8))
            throw ExitCode(1)
        }
    }
}

enum SignTools {
    /// The passphrase in `file`, without its trailing line break.
    static func passphrase(_ file: String?) throws -> [UInt8]? {
        guard let file else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        var bytes = Array(data)
        while let last = bytes.last, last == 0x0a || last == 0x0d { bytes.removeLast() }
        return bytes
    }

    static func standardInput() -> [UInt8] { Array(FileHandle.standardInput.readDataToEndOfFile()) }

    /// Reads a private key; 1024-bit keys (the public myPOS sandbox) are accepted here with a warning.
    static func privateKey(path: String, passphraseFile: String?) throws -> RSASigningKey {
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        let key = try RSASigningKey(pem: pem, passphrase: try passphrase(passphraseFile), minimumBits: 1024)
        if key.bits < 2048 {
            FileHandle.standardError.write(Data("warning: \(key.bits)-bit RSA key; live mode requires 2048 bits or more\n".utf8))
        }
        return key
    }
}

extension KeyAlgorithm: ExpressibleByArgument {}

/// `keyward keygen`: the on-site generator without a server, for merchants who want the private key
/// never to leave their machine. Register the printed public key in the management API or cabinet.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a key pair locally: the private key is written to --out (0600), the public key printed.",
        discussion:
            "Algorithms: \(KeyAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")). With --passphrase-file the private key is encrypted PKCS#8 (PBES2, AES-256-CBC); --format jwk writes a private JWK instead of PEM."
    )
    @Option(help: "Key algorithm.") var algorithm: KeyAlgorithm
    @Option(help: "Where to write the private key (must not exist).") var out: String
    @Option(name: .customLong("passphrase-file"), help: "Encrypt the private key under the passphrase in this file.") var passphraseFile: String?
    @Option(help: "pem (PKCS#8, default), pkcs1 (RSA only) or jwk.") var format: String = "pem"

    func run() throws {
        let pair = try GeneratedKeyPair.generate(algorithm)
        let text: String
        switch format {
        case "pem":
            if let passphrase = try SignTools.passphrase(passphraseFile) {
                guard passphrase.count >= 12 else { throw ValidationError("the passphrase must be at least 12 bytes") }
                text = try EncryptedPKCS8.encrypt(pem: pair.privateKeyPEM, passphrase: passphrase)
            } else {
                text = pair.privateKeyPEM
            }
        case "pkcs1":
            guard case .rsa(let key, _) = pair.signingKey, passphraseFile == nil else { throw ValidationError("pkcs1 is for unencrypted RSA keys") }
            text = key.pkcs1PEM
        case "jwk":
            guard passphraseFile == nil else { throw ValidationError("a JWK cannot be passphrase-encrypted; use --format pem") }
            text = try PrivateJWK.json(pair.signingKey, keyID: "keyward-keygen") + "\n"
        default:
            throw ValidationError("--format must be pem, pkcs1 or jwk")
        }
        let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot create \(out) (it must not exist yet)") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data(text.utf8))
        print(pair.publicKey.spkiPEM, terminator: pair.publicKey.spkiPEM.hasSuffix("\n") ? "" : "\n")
    }
}
