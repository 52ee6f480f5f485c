import Foundation
import FuzzSupport
import KeywardCrypto

/// Certificate uploads: PEM (certificates, PKCS#7 bundles, private keys), DER certificates, DER PKCS#7
/// and DER PKCS#8, then the inspection an upload gets (chain order, key match, findings).
///
/// The input is one file, or several: a 0x00 0xFF 0x00 separator splits it into files, as a multi-file
/// upload (`cert.pem key.pem chain.pem`) sends them. No passphrase is given, so an encrypted key stops
/// before PBKDF2 (FuzzEncryptedPKCS8 covers decryption).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCertificates(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let files = split(fuzzBytes(data, size))
    guard let material = try? CertificateMaterial.read(files) else { return 0 }
    let inspection = CertificateInspection.inspect(material, now: Date(timeIntervalSince1970: 1_800_000_000), requirePrivateKey: true)
    if let leaf = inspection.leaf { _ = CertificateSummary(leaf) }
    return 0
}

func split(_ bytes: [UInt8]) -> [[UInt8]] {
    var files = [[UInt8]]()
    var current = [UInt8]()
    var index = 0
    while index < bytes.count {
        if index + 2 < bytes.count, bytes[index] == 0x00, bytes[index + 1] == 0xFF, bytes[index + 2] == 0x00 {
            files.append(current)
            current = []
            index += 3
        } else {
            current.append(bytes[index])
            index += 1
        }
    }
    files.append(current)
    return files
}

@_cdecl("FuzzCertificates_main")
public func FuzzCertificatesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzCertificates)
}
