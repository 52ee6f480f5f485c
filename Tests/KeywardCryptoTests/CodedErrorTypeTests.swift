import Crypto
import Foundation
import KeywardCrypto
import SwiftASN1
import Testing

/// Certificate files, key imports, JOSE and message signatures each refuse with their own error type, so a
/// `catch let error as JOSEError` no longer catches a certificate or key refusal (they were one type).
@Suite struct CodedErrorTypeTests {
    /// Which of the four `catch let … as` clauses a failure lands in, as a caller would write them.
    static func caughtAs(_ work: () throws -> Void) -> String {
        do {
            try work()
            return "nothing thrown"
        } catch let error as JOSEError {
            return "JOSEError \(error.code)"
        } catch let error as KeyImportError {
            return "KeyImportError \(error.code)"
        } catch let error as HTTPSignatureError {
            return "HTTPSignatureError \(error.code)"
        } catch let error as CertificateFileError {
            return "CertificateFileError \(error.code)"
        } catch {
            return "other \(type(of: error))"
        }
    }

    @Test func eachRefusalIsCaughtOnlyAsItsOwnType() {
        #expect(Self.caughtAs { _ = try CertificateMaterial.read([Array("hello".utf8)]) } == "CertificateFileError not_a_certificate_file")
        #expect(Self.caughtAs { _ = try PublicKeyImport.parse(pem: "hello") } == "KeyImportError not_pem")
        #expect(Self.caughtAs { _ = try HTTPMessageSignatures.parseInputs("((") } == "HTTPSignatureError malformed_signature_input")
        #expect(Self.caughtAs { _ = try JWK.parse(#"{"kty":"EC"}"#) } == "JOSEError invalid_jwk")
    }

    @Test func aKeyRefusalInsideACertificateUploadIsACertificateFileErrorWithTheSameCodeAndMessage() throws {
        // An encrypted key without its passphrase: EncryptedPKCS8 refuses (KeyImportError); the upload
        // reports it as a CertificateFileError with the code and words the caller saw before the split.
        let key = P256.Signing.PrivateKey()
        let encrypted = try EncryptedPKCS8.encrypt(pem: key.pemRepresentation, passphrase: Array("right passphrase".utf8))
        let der = try PEMDocument(pemString: encrypted).derBytes
        var direct: KeyImportError?
        do throws(KeyImportError) { _ = try EncryptedPKCS8.decrypt(der: der, passphrase: Array("wrong".utf8)) } catch { direct = error }
        var upload: CertificateFileError?
        do throws(CertificateFileError) { _ = try CertificateMaterial.read([Array(encrypted.utf8)], passphrase: Array("wrong".utf8)) } catch {
            upload = error
        }
        #expect(direct?.code.rawValue == "wrong_passphrase")
        #expect(upload?.code == direct?.code)
        #expect(upload?.message == direct?.message)
    }
}
