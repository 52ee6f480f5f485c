import FuzzSupport
import KeywardCrypto
import SwiftASN1

/// Encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2) as an upload carries it: the DER is wrapped in a
/// PEM block and read with the passphrase `fuzz` (the seeds are encrypted with it), so decryption
/// and the key reading after it both run.
///
/// PBKDF2 iteration counts above `maximumFuzzRounds` are rewritten to that count here (the DER is
/// re-encoded with the smaller INTEGER) so one input costs milliseconds, not seconds; counts above
/// the product's own cap (10 000 000, `EncryptedPKCS8.maximumRounds`) are left alone, so the
/// refusal is fuzzed too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEncryptedPKCS8(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let der = clampRounds(fuzzBytes(data, size))
    let pem = PEMDocument(type: "ENCRYPTED PRIVATE KEY", derBytes: der).pemString
    _ = try? CertificateMaterial.read([Array(pem.utf8)], passphrase: Array("fuzz".utf8))
    return 0
}

let maximumFuzzRounds = 2048
let productCap = 10_000_000
/// EncryptedPrivateKeyInfo → algorithm → PBES2 parameters → keyDerivationFunc → PBKDF2 parameters → iterationCount.
let roundsPath = [0, 1, 0, 1, 1]

func clampRounds(_ der: [UInt8]) -> [UInt8] {
    guard let root = try? DER.parse(der), let rounds = descend(root, at: roundsPath[...]),
        let value = try? Int(derEncoded: rounds), value > maximumFuzzRounds, value <= productCap
    else { return der }
    var serializer = DER.Serializer()
    do { try rebuild(root, path: roundsPath[...], into: &serializer) } catch { return der }
    return serializer.serializedBytes
}

func descend(_ node: ASN1Node, at path: ArraySlice<Int>) -> ASN1Node? {
    guard let index = path.first else { return node }
    guard case .constructed(let children) = node.content else { return nil }
    let list = Array(children)
    guard index < list.count else { return nil }
    return descend(list[index], at: path.dropFirst())
}

func rebuild(_ node: ASN1Node, path: ArraySlice<Int>, into serializer: inout DER.Serializer) throws {
    guard let index = path.first else {
        try serializer.serialize(maximumFuzzRounds)
        return
    }
    guard case .constructed(let children) = node.content else {
        serializer.serialize(node)
        return
    }
    try serializer.appendConstructedNode(identifier: node.identifier) { inner in
        for (position, child) in children.enumerated() {
            if position == index { try rebuild(child, path: path.dropFirst(), into: &inner) } else { inner.serialize(child) }
        }
    }
}

@_cdecl("FuzzEncryptedPKCS8_main")
public func FuzzEncryptedPKCS8Main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzEncryptedPKCS8)
}
