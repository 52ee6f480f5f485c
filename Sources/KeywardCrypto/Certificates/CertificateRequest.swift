import Crypto
import SwiftASN1
import X509

/// Certificate signing requests (PKCS#10) for the keys Keyward generates: TLS certificates obtained by
/// ACME (DNS names in a subjectAltName extension request) and Apple Pay certificates (a subject only).
public enum CertificateRequest {
    /// A DER-encoded CSR signed by `privateKey`: `commonName` in the subject when given, the DNS names as
    /// an extension request when there are any.
    public static func make(
        privateKey: Certificate.PrivateKey,
        commonName: String?,
        dnsNames: [String] = [],
        emailAddress: String? = nil
    ) throws -> [UInt8] {
        let subject = try DistinguishedName {
            if let emailAddress { EmailAddress(emailAddress) }
            if let commonName { CommonName(commonName) }
        }
        var attributes = CertificateSigningRequest.Attributes()
        if !dnsNames.isEmpty {
            let extensions = try Certificate.Extensions { SubjectAlternativeNames(dnsNames.map { .dnsName($0) }) }
            attributes.insert(try .init(ExtensionRequest(extensions: extensions)))
        }
        let keyType = CertificateInspection.keyType(privateKey.publicKey)
        let algorithm: Certificate.SignatureAlgorithm =
            keyType.hasPrefix("RSA")
            ? .sha256WithRSAEncryption
            : keyType == "EC P-384" ? .ecdsaWithSHA384 : .ecdsaWithSHA256
        let request = try CertificateSigningRequest(
            version: .v1,
            subject: subject,
            privateKey: privateKey,
            attributes: attributes,
            signatureAlgorithm: algorithm
        )
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }
}
