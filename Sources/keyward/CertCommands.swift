import ArgumentParser
import Foundation
import KeywardCrypto

/// `keyward cert …`: certificates. `inspect` needs no database.
struct CertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Certificates.",
        subcommands: [Inspect.self, Upload.self, List.self, Scan.self]
    )

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Read certificate, key and chain files (PEM, DER, PKCS#7; any order, one combined file is fine) and report what upload would find.",
            discussion: "Exits 0 when the files would be accepted, 1 when a problem would refuse them (each printed with its code)."
        )
        @Argument(help: "Certificate, private key and chain files.") var files: [String]
        @Option(name: .customLong("passphrase-file"), help: "Passphrase of an encrypted private key.") var passphraseFile: String?
        @Flag(help: "JSON output.") var json = false

        func run() throws {
            let contents = try readCertificateFiles(files)
            let inspection: CertificateInspection
            do {
                let material = try CertificateMaterial.read(contents, passphrase: try SignTools.passphrase(passphraseFile))
                inspection = CertificateInspection.inspect(material, requirePrivateKey: false)
            } catch let error as CertificateFileError {
                FileHandle.standardError.write(Data("error (\(error.code)): \(error.message)\n".utf8))
                throw ExitCode(1)
            }
            if json { printJSON(InspectionOutput(inspection)) } else { print(InspectionOutput(inspection).text, terminator: "") }
            if !inspection.isAcceptable { throw ExitCode(1) }
        }
    }
}

/// Reads certificate files, refusing any larger than an upload accepts before reading it.
func readCertificateFiles(_ files: [String]) throws -> [[UInt8]] {
    try files.map { file in
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file), let size = attributes[.size] as? Int else {
            throw ValidationError("cannot read \(file)")
        }
        guard size <= CertificateMaterial.maximumFileBytes, let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("\(file) is \(size) bytes; certificate files are at most \(CertificateMaterial.maximumFileBytes / 1024) KiB")
        }
        return Array(data)
    }
}

/// The report `cert inspect` prints.
struct InspectionOutput: Encodable {
    let acceptable: Bool
    let key_matches: Bool?
    let chain: [CertificateSummary]
    let findings: [CertificateFinding]

    init(_ inspection: CertificateInspection) {
        acceptable = inspection.isAcceptable
        key_matches = inspection.keyMatches
        chain = inspection.chain.map(CertificateSummary.init)
        findings = inspection.findings
    }

    var text: String {
        var out = ""
        for (index, certificate) in chain.enumerated() {
            out += index == 0 ? "certificate\n" : "chain \(index)\n"
            out += "  subject:     \(certificate.subject)\n"
            if !certificate.subjectAltNames.isEmpty { out += "  names:       \(certificate.subjectAltNames.joined(separator: ", "))\n" }
            out += "  issuer:      \(certificate.issuer)\n"
            out += "  serial:      \(certificate.serial)\n"
            out += "  not before:  \(certificate.notBefore.formatted(.iso8601))\n"
            out += "  not after:   \(certificate.notAfter.formatted(.iso8601))\n"
            out += "  key:         \(certificate.keyType)\n"
            out += "  sha-256:     \(certificate.sha256Fingerprint)\n"
        }
        switch key_matches {
        case true?: out += "private key: matches the certificate\n"
        case false?: out += "private key: DOES NOT match the certificate\n"
        case nil: out += "private key: not given\n"
        }
        for finding in findings { out += "\(finding.severity.rawValue) (\(finding.code)): \(finding.message)\n" }
        out += acceptable ? "acceptable\n" : "would be refused\n"
        return out
    }
}
