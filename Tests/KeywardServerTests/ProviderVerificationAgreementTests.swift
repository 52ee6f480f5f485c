import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeywardCore
import KeywardCrypto
import KeywardDialects
import KeywardServer
import Testing

/// The gateway and the owner's diagnosis run the same verification steps (`ProviderVerification`), so
/// they cannot disagree: for each request, the gateway accepts it exactly when the diagnosis says every
/// step passes, and otherwise answers the code of the step the diagnosis shows failing.
@Suite(.closesStores) struct ProviderVerificationAgreementTests {
    /// What the gateway and the diagnosis said about one request.
    struct Verdicts {
        let gatewayStatus: HTTPResponse.Status
        let gatewayCode: String?
        let diagnosisValid: Bool
        let diagnosisStepCode: String?
        let text: String

        func expectAgreement(_ label: String, expected code: String?, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect((gatewayStatus == .ok) == diagnosisValid, "\(label): \(text)", sourceLocation: sourceLocation)
            #expect(gatewayCode == diagnosisStepCode, "\(label): \(text)", sourceLocation: sourceLocation)
            #expect(gatewayCode == code, "\(label): \(text)", sourceLocation: sourceLocation)
        }
    }

    static func diagnosis(_ response: TestResponse) -> (valid: Bool, failedStepCode: String?) {
        let steps = response.json["steps"] as? [[String: Any]] ?? []
        let failed = steps.last { ($0["ok"] as? Bool) == false }
        return ((response.json["valid"] as? Bool) ?? false, failed?["code"] as? String)
    }

    @Test func gatewayAndDiagnosisAgreeOnMyPOSForms() async throws {
        let settings = Harness.settings()
        let testClock = TestClock()
        let services = try await Harness.services(settings, clock: testClock.clock)
        let tenant = try await Harness.tenant(services)
        let other = try await Harness.tenant(services)
        let store = try await services.stores.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            NewStore(name: "shop", dialect: .mypos, rejectReplays: true)
        )
        let foreign = try await services.stores.create(merchantID: other.merchant.id, mode: .test, NewStore(name: "theirs", dialect: .mypos))
        let first = try RSASigningKey.generate(bits: 2048)
        let second = try RSASigningKey.generate(bits: 2048)
        let third = try RSASigningKey.generate(bits: 2048)
        let owner = tenant.merchant.id
        _ = try await services.stores.addKeys(
            merchantID: owner,
            mode: .test,
            storeID: store.id,
            pem: first.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        _ = try await services.stores.addKeys(
            merchantID: owner,
            mode: .test,
            storeID: store.id,
            pem: second.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        _ = try await services.stores.addKeys(
            merchantID: owner,
            mode: .test,
            storeID: store.id,
            pem: third.publicKey.spkiPEM,
            limits: RequestedLimits(expiresAt: testClock.clock.now().addingTimeInterval(3600)),
            by: .platformOperator
        )
        _ = try await services.stores.addKeys(
            merchantID: other.merchant.id,
            mode: .test,
            storeID: foreign.id,
            pem: second.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        _ = try await services.stores.revokeKey(merchantID: owner, mode: .test, storeID: store.id, keyIndex: 2)
        await services.store.shutdown()

        @Sendable func form(
            sid: String = store.externalID,
            wallet: String? = store.walletNumber,
            keyIndex: String = "1",
            amount: String = "23.45",
            signer: RSASigningKey = first,
            tamper: Bool = false
        ) throws -> String {
            var pairs: [(name: String, value: String)] = [("IPCmethod", "IPCPurchase"), ("SID", sid)]
            if let wallet { pairs.append(("WalletNumber", wallet)) }
            pairs += [("Amount", amount), ("OrderID", UUID().uuidString), ("KeyIndex", keyIndex)]
            var signed = try MyPOSIPC.signed(pairs, with: signer)
            if tamper { signed = signed.map { $0.name == "Amount" ? ($0.name, "99.99") : $0 } }
            return FormEncoding.encode(signed)
        }

        let app = try await Harness.app(settings, clock: testClock.clock)
        _ = try await app.test(.router) { client in
            func verdicts(_ body: String, diagnosedBy key: String? = nil) async throws -> Verdicts {
                // The diagnosis first: it never consumes the replay fingerprint the gateway records.
                let diagnosed = try await client.call(
                    .post,
                    "/v1/auth/diagnose",
                    key: key ?? tenant.testKey.secret,
                    json: try ProviderGatewayTests.json(["dialect": "mypos", "body": body])
                )
                #expect(diagnosed.status == .ok, "\(diagnosed.text)")
                let gateway = try await client.execute(
                    uri: "/vmp/checkout-test",
                    method: .post,
                    headers: ProviderGatewayTests.form,
                    body: ByteBuffer(string: body)
                ) { $0 }
                let (valid, stepCode) = Self.diagnosis(diagnosed)
                return Verdicts(
                    gatewayStatus: gateway.status,
                    gatewayCode: gateway.status == .ok ? nil : gateway.json["code"] as? String,
                    diagnosisValid: valid,
                    diagnosisStepCode: stepCode,
                    text: "gateway \(gateway.text) diagnosis \(diagnosed.text)"
                )
            }
            try await verdicts(try form()).expectAgreement("valid", expected: nil)
            try await verdicts(try form(sid: "999000999")).expectAgreement("unknown SID", expected: "unknown_store")
            try await verdicts(try form(sid: foreign.externalID)).expectAgreement("another merchant's store", expected: "unknown_store")
            try await verdicts(try form(sid: foreign.externalID, wallet: foreign.walletNumber), diagnosedBy: other.testKey.secret)
                .expectAgreement("another merchant's store, diagnosed by its owner", expected: "signature_invalid")
            try await verdicts(try form(wallet: "11111111111")).expectAgreement("wrong wallet", expected: "unknown_store")
            try await verdicts(try form(keyIndex: "9")).expectAgreement("unknown key index", expected: "unknown_key_index")
            try await verdicts(try form(keyIndex: "x")).expectAgreement("key index not a number", expected: "unknown_key_index")
            try await verdicts(try form(keyIndex: "2", signer: second)).expectAgreement("revoked key index", expected: "unknown_key_index")
            try await verdicts(try form(keyIndex: "3", signer: third)).expectAgreement("key index before expiry", expected: nil)
            try await verdicts(try form(tamper: true)).expectAgreement("amount changed after signing", expected: "signature_invalid")
            try await verdicts(try form() + "&Amount=1.00").expectAgreement("duplicate parameter", expected: "duplicate_parameter")
            try await verdicts("SID=\(store.externalID)&KeyIndex=1").expectAgreement("no signature", expected: "signature_missing")
            try await verdicts("a=%zz").expectAgreement("malformed form", expected: "malformed_form")
            try await verdicts((0..<1001).map { "p\($0)=1" }.joined(separator: "&") + "&Signature=AAAA")
                .expectAgreement("too many parameters", expected: "too_many_parameters")

            // A replay: accepted once by the gateway, then refused by both.
            let once = try form()
            let accepted = try await client.execute(
                uri: "/vmp/checkout-test",
                method: .post,
                headers: ProviderGatewayTests.form,
                body: ByteBuffer(string: once)
            ) { $0 }
            #expect(accepted.status == .ok, "\(accepted.text)")
            try await verdicts(once).expectAgreement("replay", expected: "replayed_request")

            // Expired: the same key index, an hour and a minute later.
            testClock.advance(3660)
            try await verdicts(try form(keyIndex: "3", signer: third)).expectAgreement("expired key index", expected: "unknown_key_index")
        }
    }

    @Test func gatewayAndDiagnosisAgreeOnAliKassaCalls() async throws {
        let settings = Harness.settings()
        let services = try await Harness.services(settings)
        let tenant = try await Harness.tenant(services)
        let kassa = try await services.stores.create(
            merchantID: tenant.merchant.id,
            mode: .test,
            NewStore(name: "kiosk", dialect: .alikassa, rejectReplays: true)
        )
        let empty = try await services.stores.create(merchantID: tenant.merchant.id, mode: .test, NewStore(name: "empty", dialect: .alikassa))
        let key = try RSASigningKey.generate(bits: 2048)
        let stranger = try RSASigningKey.generate(bits: 2048)
        _ = try await services.stores.addKeys(
            merchantID: tenant.merchant.id,
            mode: .test,
            storeID: kassa.id,
            pem: key.publicKey.spkiPEM,
            limits: RequestedLimits(),
            by: .platformOperator
        )
        await services.store.shutdown()

        @Sendable func sign(_ body: String, with signer: RSASigningKey = key) throws -> String {
            Data(try signer.signPKCS1v15(Array(body.utf8), digest: .sha256)).base64EncodedString()
        }
        let app = try await Harness.app(settings)
        _ = try await app.test(.router) { client in
            func verdicts(_ body: String, headers: [String: String]) async throws -> Verdicts {
                let diagnosed = try await client.call(
                    .post,
                    "/v1/auth/diagnose",
                    key: tenant.testKey.secret,
                    json: try ProviderGatewayTests.json(["dialect": "alikassa", "body": body, "headers": headers])
                )
                #expect(diagnosed.status == .ok, "\(diagnosed.text)")
                var fields: HTTPFields = [.contentType: "application/json"]
                for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
                let gateway = try await client.execute(uri: "/v1/auth/test", method: .post, headers: fields, body: ByteBuffer(string: body)) { $0 }
                let (valid, stepCode) = Self.diagnosis(diagnosed)
                return Verdicts(
                    gatewayStatus: gateway.status,
                    gatewayCode: gateway.status == .ok ? nil : gateway.json["code"] as? String,
                    diagnosisValid: valid,
                    diagnosisStepCode: stepCode,
                    text: "gateway \(gateway.text) diagnosis \(diagnosed.text)"
                )
            }
            let body = #"{"amount":"5.00","order":"\#(UUID().uuidString)"}"#
            // No Sign header for an unknown account: the headers are judged before the store is looked up.
            try await verdicts(body, headers: ["Account": UUID().uuidString]).expectAgreement(
                "unknown account, no Sign",
                expected: "signature_missing"
            )
            try await verdicts(body, headers: ["Account": UUID().uuidString, "Sign": try sign(body)]).expectAgreement(
                "unknown account",
                expected: "unknown_store"
            )
            try await verdicts(body, headers: ["Account": empty.externalID, "Sign": try sign(body)]).expectAgreement(
                "no active key",
                expected: "unknown_key_index"
            )
            try await verdicts(body, headers: ["Account": kassa.externalID, "Sign": try sign(body, with: stranger)]).expectAgreement(
                "another key",
                expected: "signature_invalid"
            )
            try await verdicts(body, headers: ["Account": kassa.externalID, "Sign": "***"]).expectAgreement(
                "not base64",
                expected: "signature_invalid"
            )
            try await verdicts(body, headers: ["Account": kassa.externalID, "Sign": try sign(body)]).expectAgreement("valid", expected: nil)
            // The gateway just accepted it: both now call it a replay.
            try await verdicts(body, headers: ["Account": kassa.externalID, "Sign": try sign(body)]).expectAgreement(
                "replay",
                expected: "replayed_request"
            )
        }
    }
}
