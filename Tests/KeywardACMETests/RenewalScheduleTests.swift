import Crypto
import Foundation
import KeywardACME
import Testing
import X509

/// When renewals happen: the ARI certificate id (RFC 9773 §4.1's example), the window, 2/3 of the
/// lifetime without one, and the failure backoff.
struct RenewalScheduleTests {
    @Test func theARICertificateIDMatchesRFC9773sExample() throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("ari.example") }
        let aki: [UInt8] = [0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4]
        let certificate = try Certificate(
            version: .v3,
            serialNumber: .init(bytes: [0x87, 0x65, 0x43, 0x21]),
            publicKey: .init(key.publicKey),
            notValidBefore: Date(),
            notValidAfter: Date().addingTimeInterval(86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { AuthorityKeyIdentifier(keyIdentifier: aki[...]) },
            issuerPrivateKey: .init(key)
        )
        #expect(RenewalSchedule.certificateID(certificate) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")

        let withoutAKI = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(key.publicKey),
            notValidBefore: Date(),
            notValidAfter: Date().addingTimeInterval(86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: .init(),
            issuerPrivateKey: .init(key)
        )
        #expect(RenewalSchedule.certificateID(withoutAKI) == nil)
    }

    @Test func renewalFallsInsideTheWindowOrAtTwoThirdsOfTheLifetime() {
        let notBefore = Date(timeIntervalSince1970: 1_700_000_000)
        let notAfter = notBefore.addingTimeInterval(90 * 86400)
        #expect(
            RenewalSchedule.renewalTime(notBefore: notBefore, notAfter: notAfter, window: nil, fraction: 0.9)
                == notBefore.addingTimeInterval(60 * 86400)
        )
        let window = RenewalWindow(start: notBefore.addingTimeInterval(10 * 86400), end: notBefore.addingTimeInterval(12 * 86400))
        #expect(RenewalSchedule.renewalTime(notBefore: notBefore, notAfter: notAfter, window: window, fraction: 0) == window.start)
        #expect(
            RenewalSchedule.renewalTime(notBefore: notBefore, notAfter: notAfter, window: window, fraction: 0.5)
                == notBefore.addingTimeInterval(11 * 86400)
        )
        // A window that ends before it starts is ignored.
        let broken = RenewalWindow(start: window.end, end: window.start)
        #expect(
            RenewalSchedule.renewalTime(notBefore: notBefore, notAfter: notAfter, window: broken, fraction: 0.5)
                == notBefore.addingTimeInterval(60 * 86400)
        )
    }

    @Test func failuresBackOffOneHourDoublingUpToThirtyTwo() {
        #expect((1...8).map { RenewalSchedule.backoff(failures: $0) / 3600 } == [1, 2, 4, 8, 16, 32, 32, 32])
        #expect(RenewalSchedule.backoff(failures: 0) == 0)
    }
}
