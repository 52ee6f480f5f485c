import Foundation
import KeywardCrypto
import KeywardTestSupport
import Testing

@testable import KeywardDialects

@Suite struct MyPOSTests {
    /// A request signed by Python exactly as the myPOS SDK signs it is accepted; any change is refused.
    @Test func acceptsTheSDKsRequestAndRefusesAnyChange() throws {
        let keys = try KeyFixtures()
        try keys.rsa("store")
        try keys.certificate("store")
        let body = try keys.python(["mypos-request", keys.path("store.pem")])
        let form = try FormEncoding.decode(Array(body.utf8))
        #expect(form.first { $0.name == "OrderID" }?.value == "order-ü 1&2=3+4")
        #expect(form.last?.name == "Signature")
        let certificate = try #require(try PublicKeyImport.parse(pem: try keys.read("store.crt")).first?.key)
        #expect(MyPOSIPC.verify(form, with: certificate) == .valid)

        var changed = form
        changed[5].value = "23.46"
        #expect(MyPOSIPC.verify(changed, with: certificate) == .invalid(code: .signatureInvalid, reason: expectedMismatch))
        var reordered = form
        reordered.swapAt(1, 2)
        #expect(MyPOSIPC.verify(reordered, with: certificate) != .valid)
        var dropped = form
        dropped.remove(at: 14)  // an empty value still counts
        #expect(MyPOSIPC.verify(dropped, with: certificate) != .valid)
        #expect(
            MyPOSIPC.verify(form + [("Amount", "1.00")], with: certificate)
                == .invalid(code: .duplicateParameter, reason: "Parameter 'Amount' appears more than once; myPOS signs each parameter once.")
        )
        #expect(
            MyPOSIPC.verify(Array(form.dropLast()), with: certificate)
                == .invalid(code: .signatureMissing, reason: "The request has no Signature parameter.")
        )
        var garbage = form
        garbage[garbage.count - 1].value = "%%%not base64"
        #expect(MyPOSIPC.verify(garbage, with: certificate) == .invalid(code: .signatureInvalid, reason: "The Signature parameter is not base64."))
        try keys.rsa("other")
        let otherKey = try #require(try PublicKeyImport.parse(pem: try keys.read("other.pub")).first?.key)
        #expect(MyPOSIPC.verify(form, with: otherKey) != .valid)
    }

    /// A signature whose '+' arrived as ' ' (a form value that was not URL-encoded) still verifies.
    @Test func toleratesUnencodedPlusInTheSignature() throws {
        let keys = try KeyFixtures()
        try keys.rsa("store")
        let key = try RSASigningKey(pem: try keys.read("store.pem"))
        let publicKey = key.publicKey
        for attempt in 0..<20 {
            let signed = try MyPOSIPC.signed([("IPCmethod", "IPCPurchase"), ("OrderID", "o\(attempt)")], with: key)
            guard signed[2].value.contains("+") else { continue }
            var mangled = signed
            mangled[2].value = signed[2].value.replacingOccurrences(of: "+", with: " ")
            #expect(MyPOSIPC.verify(mangled, with: publicKey) == .valid)
            return
        }
    }

    /// Our signatures verify in Python, the way a merchant checks Keyward's answers.
    @Test func ourSignaturesVerifyInPython() throws {
        let keys = try KeyFixtures()
        try keys.rsa("platform")
        try keys.certificate("platform")
        let key = try RSASigningKey(pem: try keys.read("platform.pem"))
        let answer = try MyPOSIPC.signed([("IPCmethod", "IPCPurchaseNotify"), ("OrderID", "ü-1 &x"), ("Amount", "23.45"), ("Note", "")], with: key)
        let form = FormEncoding.encode(answer)
        _ = try keys.python(["mypos-verify", keys.path("platform.crt"), form])
        var tampered = answer
        tampered[2].value = "23.40"
        #expect(throws: (any Error).self) { try keys.python(["mypos-verify", keys.path("platform.crt"), FormEncoding.encode(tampered)]) }
    }

    @Test func formDecodingKeepsOrderAndRefusesBrokenEscapes() throws {
        let pairs = try FormEncoding.decode(Array("b=2&a=%C3%BC+x&empty=&flag&b=3".utf8))
        #expect(pairs.map(\.name) == ["b", "a", "empty", "flag", "b"])
        #expect(pairs.map(\.value) == ["2", "ü x", "", "", "3"])
        #expect(throws: FormEncoding.MalformedForm.self) { try FormEncoding.decode(Array("a=%zz".utf8)) }
        #expect(throws: FormEncoding.MalformedForm.self) { try FormEncoding.decode(Array("a=%4".utf8)) }
        #expect(throws: FormEncoding.MalformedForm.self) { try FormEncoding.decode(Array("a=%FF".utf8)) }
        #expect(try FormEncoding.decode(Array(FormEncoding.encode([("k y", "ü&=+/")]).utf8)).first?.value == "ü&=+/")
    }

    let expectedMismatch = "The signature does not match: the signed content changed after signing, or it was signed with another key or hash."
}

@Suite struct AliKassaTests {
    @Test(arguments: [SignatureDigest.sha256, .sha1])
    func pythonSignedBodiesVerifyAndChangesDoNot(digest: SignatureDigest) throws {
        let keys = try KeyFixtures()
        try keys.rsa("account")
        let body = Data(#"{"amount":"150.00","currency":"USD","orderId":"A-1","desc":"ü"}"#.utf8)
        let sign = try keys.python(["alikassa-sign", keys.path("account.pem"), digest.rawValue], stdin: body)
        let publicKey = try #require(try PublicKeyImport.parse(pem: try keys.read("account.pub")).first?.key)
        #expect(AliKassa.verify(body: Array(body), signature: sign, with: publicKey, digest: digest) == .valid)
        // The same body re-serialized (whitespace) is different bytes: refused.
        let reformatted = Array(String(decoding: body, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
        #expect(AliKassa.verify(body: reformatted, signature: sign, with: publicKey, digest: digest) != .valid)
        // The other hash does not verify: SHA-1 is only for keys flagged legacy.
        let other: SignatureDigest = digest == .sha256 ? .sha1 : .sha256
        #expect(AliKassa.verify(body: Array(body), signature: sign, with: publicKey, digest: other) != .valid)
        // Ours verifies in Python.
        let ours = try AliKassa.sign(body: Array(body), with: try RSASigningKey(pem: try keys.read("account.pem")), digest: digest)
        #expect(ours == sign, "PKCS#1 v1.5 is deterministic")
        _ = try keys.python(["alikassa-verify", keys.path("account.pub"), digest.rawValue, ours], stdin: body)
    }

    @Test func missingOrGarbageSignatures() throws {
        let keys = try KeyFixtures()
        try keys.rsa("a")
        let publicKey = try #require(try PublicKeyImport.parse(pem: try keys.read("a.pub")).first?.key)
        #expect(
            AliKassa.verify(body: [1], signature: nil, with: publicKey)
                == .invalid(code: .signatureMissing, reason: "The request has no Sign header.")
        )
        #expect(
            AliKassa.verify(body: [1], signature: "!!!", with: publicKey)
                == .invalid(code: .signatureInvalid, reason: "The Sign header is not base64.")
        )
        #expect(AliKassa.verify(body: [1], signature: "AAAA", with: publicKey) != .valid)
    }
}

@Suite struct ManualSigningTests {
    @Test func formFromATerminalIgnoresTheLineBreakAndMyPOSIsAlwaysSHA256() throws {
        let keys = try KeyFixtures()
        try keys.rsa("k")
        let key = try RSASigningKey(pem: try keys.read("k.pem"))
        let form = Array("IPCmethod=IPCPurchase&Amount=1.00&Note=".utf8)
        let signature = try ManualSigning.sign(.mypos, input: form + [0x0a], key: key, digest: .sha256)
        #expect(signature == (try MyPOSIPC.sign([("IPCmethod", "IPCPurchase"), ("Amount", "1.00"), ("Note", "")], with: key)))
        let signedForm = form + Array("&Signature=\(FormEncoding.escape(signature))\r\n".utf8)
        #expect(try ManualSigning.verify(.mypos, input: signedForm, publicKey: key.publicKey, signature: nil, digest: .sha256) == .valid)
        #expect(throws: ManualSigningError.self) { try ManualSigning.sign(.mypos, input: form, key: key, digest: .sha1) }
        // AliKassa bodies are signed raw: a trailing line break is part of the body.
        let sign = try ManualSigning.sign(.alikassa, input: [0x7b, 0x7d], key: key, digest: .sha256)
        #expect(try ManualSigning.verify(.alikassa, input: [0x7b, 0x7d, 0x0a], publicKey: key.publicKey, signature: sign, digest: .sha256) != .valid)
    }
}
