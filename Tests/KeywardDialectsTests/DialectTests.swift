import Foundation
import KeywardCrypto
import KeywardDialects
import KeywardTestSupport
import Testing

@Suite struct KashierOrderHashTests {
    /// Kashier's published check.
    @Test func publishedVector() {
        #expect(KashierOrderHash.path(mid: "mid-0-1", orderID: "99", amount: "20", currency: "EGP") == "/?payment=mid-0-1.99.20.EGP")
        let hash = KashierOrderHash.compute(paymentKey: "11111", mid: "mid-0-1", orderID: "99", amount: "20", currency: "EGP")
        #expect(hash == "606a8a1307d64caf4e2e9bb724738f115a8972c27eccb2a8acd9194c357e4bec")
    }

    @Test func verifyAcceptsAnyHexCaseAndRejectsChanges() {
        let hash = "606A8A1307D64CAF4E2E9BB724738F115A8972C27ECCB2A8ACD9194C357E4BEC"
        #expect(KashierOrderHash.verify(hash, paymentKey: "11111", mid: "mid-0-1", orderID: "99", amount: "20", currency: "EGP"))
        #expect(!KashierOrderHash.verify(hash, paymentKey: "11111", mid: "mid-0-1", orderID: "99", amount: "20.00", currency: "EGP"))
        #expect(!KashierOrderHash.verify("zz", paymentKey: "11111", mid: "mid-0-1", orderID: "99", amount: "20", currency: "EGP"))
        #expect(!KashierOrderHash.verify("", paymentKey: "11111", mid: "mid-0-1", orderID: "99", amount: "20", currency: "EGP"))
    }

    /// The openssl CLI as an independent HMAC implementation, over generated inputs.
    @Test func matchesOpenSSL() throws {
        for index in 0..<5 {
            let key = PaymentKeyFormat.generate()
            let args = (mid: "MID-\(index)-7", order: "order-\(UUID().uuidString)", amount: "\(index * 13).5\(index)", currency: "EGP")
            let ours = KashierOrderHash.compute(paymentKey: key, mid: args.mid, orderID: args.order, amount: args.amount, currency: args.currency)
            let message = KashierOrderHash.path(mid: args.mid, orderID: args.order, amount: args.amount, currency: args.currency)
            let output = try Shell.run("/usr/bin/openssl", ["dgst", "-sha256", "-hmac", key, "-r"], stdin: Data(message.utf8))
            #expect(output.split(separator: " ").first.map(String.init) == ours)
        }
    }
}

@Suite struct NativeAuthorizationTests {
    @Test func parsesBearerAndBareForms() {
        #expect(NativeAuthorization.parse("Bearer kw_test_x") == .key("kw_test_x"))
        #expect(NativeAuthorization.parse("bearer   kw_test_x ") == .key("kw_test_x"))
        #expect(NativeAuthorization.parse("kw_test_x") == .key("kw_test_x"))
        #expect(NativeAuthorization.parse(nil) == .missing)
        #expect(NativeAuthorization.parse("   ") == .missing)
    }

    @Test func refusesOtherShapesWithoutEchoingThem() {
        for header in ["Basic dXNlcjpwYXNz", "Bearer a b", String(repeating: "k", count: 600), "Bearer kw_tést"] {
            guard case .malformed(let reason) = NativeAuthorization.parse(header) else {
                Issue.record("accepted \(header.prefix(20))")
                continue
            }
            #expect(!reason.contains(header))
        }
    }
}
