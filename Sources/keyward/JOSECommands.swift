import ArgumentParser
import Foundation
import KeywardCrypto

extension JWKCurve: ExpressibleByArgument {}
extension JWEAlgorithm: ExpressibleByArgument {}
extension JWEEncryption: ExpressibleByArgument {}

/// `keyward jwk …`: JSON Web Keys for the Alliance dialect.
struct JWKCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jwk", abstract: "JSON Web Keys.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Generate an EC key pair: with --out the private JWK goes to that file (0600) and the public JWK is printed; without, the private JWK is printed."
        )
        @Option(help: "P-256, P-384 (default) or P-521.") var crv: JWKCurve = .p384
        @Option(help: "Key id (default: a new UUID).") var kid: String?
        @Option(help: "Write the private JWK here (must not exist); without it the private JWK is printed.") var out: String?

        func run() throws {
            let key = JWK(
                material: .ecPrivate(.generate(crv)),
                kid: kid ?? UUID().uuidString.lowercased(),
                use: "enc",
                alg: JWEAlgorithm.ecdhESA256KW.rawValue
            )
            if let out {
                let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard descriptor >= 0 else { throw ValidationError("cannot create \(out) (it must not exist yet)") }
                try FileHandle(fileDescriptor: descriptor, closeOnDealloc: true).write(
                    contentsOf: Data((key.json(includingPrivate: true) + "\n").utf8)
                )
                print(key.publicJWK.json())
            } else {
                print(key.json(includingPrivate: true))
            }
        }
    }
}

/// `keyward jwe …`: compact JWE with ECDH-ES, as the Alliance dialect uses it.
struct JWECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwe",
        abstract: "Encrypt or decrypt compact JWEs (ECDH-ES).",
        subcommands: [Encrypt.self, Decrypt.self]
    )

    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encrypt standard input to a public (or private) EC JWK; prints the compact JWE.")
        @Option(help: "File holding the recipient's JWK.") var jwk: String
        @Option(help: "Key management algorithm (default ECDH-ES+A256KW).") var alg: JWEAlgorithm = .ecdhESA256KW
        @Option(help: "Content encryption (default A256GCM).") var enc: JWEEncryption = .a256GCM

        func run() throws {
            let key = try JWK.parse(try String(contentsOfFile: jwk, encoding: .utf8), allowPrivate: true)
            print(try JWE.encrypt(SignTools.standardInput(), to: key, algorithm: alg, encryption: enc))
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decrypt the compact JWE on standard input with a private EC JWK; prints the plaintext."
        )
        @Option(help: "File holding the private JWK.") var jwk: String

        func run() throws {
            let key = try JWK.parse(try String(contentsOfFile: jwk, encoding: .utf8), allowPrivate: true)
            let token = String(decoding: SignTools.standardInput(), as: UTF8.self)
            do {
                FileHandle.standardOutput.write(Data(try JWE.decrypt(token, with: key).plaintext))
            } catch {
                FileHandle.standardError.write(Data("cannot decrypt (\(error.code)): \(error.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
