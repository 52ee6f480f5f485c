import Foundation
import KeywardTestSupport
import Testing

@testable import KeywardCrypto

@Suite struct JOSETests {
    static func python(_ arguments: [String], stdin: String = "") throws -> String {
        try Shell.run("/usr/bin/env", ["python3", Peers.jose] + arguments, stdin: Data(stdin.utf8))
    }

    /// RFC 7518 Appendix C: ECDH-ES with P-256, A128GCM, apu "Alice", apv "Bob".
    @Test func concatKDFMatchesRFC7518AppendixC() throws {
        let alice = try JWK.parse(
            #"{"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps","d":"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}"#,
            allowPrivate: true
        )
        let bob = try JWK.parse(
            #"{"kty":"EC","crv":"P-256","x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ","y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}"#
        )
        guard case .ecPrivate(let ephemeral) = alice.material, case .ecPublic(let recipient) = bob.material else {
            Issue.record("keys did not parse as expected")
            return
        }
        let z = try ephemeral.sharedSecret(with: recipient)
        let key = ConcatKDF.derive(z: z, bits: 128, algorithmID: "A128GCM", apu: Array("Alice".utf8), apv: Array("Bob".utf8))
        #expect(Base64URL.encode(key) == "VqqN6vgjbSBcIijNcacQGg")
    }

    /// RFC 7638 §3.1's example thumbprint.
    @Test func thumbprintMatchesRFC7638() throws {
        let jwk = try JWK.parse(
            #"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#
        )
        #expect(jwk.thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }

    /// Runs many peer operations in one Python process; each task is op/lib/key/alg/enc/data.
    static func batch(_ tasks: [[String: String]]) throws -> [String] {
        let input = String(decoding: try JSONSerialization.data(withJSONObject: tasks), as: UTF8.self)
        let output = try python(["batch"], stdin: input)
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String])
    }

    /// Every alg × enc in both directions against joserfc and jwcrypto, on P-384 (the Alliance curve) and P-256.
    @Test(arguments: ["P-384", "P-256"])
    func interoperatesWithJoserfcAndJwcrypto(curve: String) throws {
        let theirs = try JWK.parse(try Self.python(["generate", curve]), allowPrivate: true)
        let ours = JWK(material: .ecPrivate(.generate(JWKCurve(rawValue: curve) ?? .p384)), kid: "k1", use: "enc")
        let message = "{\"deviceId\":\"d-1\",\"note\":\"ü ✓\"}"
        var decryptions: [[String: String]] = []
        var encryptions: [[String: String]] = []
        for algorithm in JWEAlgorithm.allCases {
            for encryption in JWEEncryption.allCases {
                let token = try JWE.encrypt(Array(message.utf8), to: theirs.publicJWK, algorithm: algorithm, encryption: encryption)
                for library in ["joserfc", "jwcrypto"] {
                    decryptions.append(["op": "decrypt", "lib": library, "key": theirs.json(includingPrivate: true), "data": token])
                    encryptions.append([
                        "op": "encrypt", "lib": library, "key": ours.publicJWK.json(), "alg": algorithm.rawValue,
                        "enc": encryption.rawValue, "data": message,
                    ])
                }
            }
        }
        // They open ours.
        for (task, plaintext) in zip(decryptions, try Self.batch(decryptions)) {
            #expect(plaintext == message, "\(task["lib"] ?? "") opens our token")
        }
        // We open theirs.
        for (task, token) in zip(encryptions, try Self.batch(encryptions)) {
            let opened = try JWE.decrypt(token, with: ours)
            #expect(
                String(decoding: opened.plaintext, as: UTF8.self) == message,
                "we open \(task["lib"] ?? "")'s \(task["alg"] ?? "")/\(task["enc"] ?? "")"
            )
            #expect(opened.algorithm.rawValue == task["alg"] && opened.encryption.rawValue == task["enc"])
        }
    }

    @Test func refusesWhatIsUnsafeOrDamaged() throws {
        let recipient = JWK(material: .ecPrivate(.generate(.p384)))
        let other = JWK(material: .ecPrivate(.generate(.p384)))
        let token = try JWE.encrypt(Array("secret".utf8), to: recipient.publicJWK)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func code(_ text: String, with key: JWK = recipient, algorithms: Set<JWEAlgorithm> = Set(JWEAlgorithm.allCases)) -> String? {
            do {
                _ = try JWE.decrypt(text, with: key, algorithms: algorithms)
                return nil
            } catch { return error.code.rawValue }
        }
        func header(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }
        let original = String(decoding: Base64URL.decode(parts[0]) ?? Data(), as: UTF8.self)
        #expect(code(token) == nil)
        #expect(code(token, with: other) == "decryption_failed")
        #expect(code(parts.dropLast().joined(separator: ".")) == "invalid_jwe")
        #expect(code(([parts[0], parts[1], "%%%", parts[3], parts[4]]).joined(separator: ".")) == "invalid_jwe")
        var tag = Array(Base64URL.decode(parts[4]) ?? Data())
        tag[0] ^= 1
        #expect(code(([parts[0], parts[1], parts[2], parts[3], Base64URL.encode(tag)]).joined(separator: ".")) == "decryption_failed")
        // The header is authenticated: any edit fails, even a harmless-looking one.
        let edited = header(original.replacingOccurrences(of: "\"enc\":\"A256GCM\"", with: "\"enc\":\"A256GCM\",\"x\":\"1\""))
        #expect(code(([edited] + parts.dropFirst()).joined(separator: ".")) == "decryption_failed")
        for (name, json) in [
            ("none", original.replacingOccurrences(of: "ECDH-ES+A256KW", with: "none")),
            ("RSA1_5", original.replacingOccurrences(of: "ECDH-ES+A256KW", with: "RSA1_5")),
            ("zip", original.replacingOccurrences(of: "\"enc\"", with: "\"zip\":\"DEF\",\"enc\"")),
        ] {
            #expect(code(([header(json)] + parts.dropFirst()).joined(separator: ".")) == "unsupported_algorithm", "\(name)")
        }
        #expect(
            code(
                ([header(original.replacingOccurrences(of: "\"enc\"", with: "\"alg\":\"ECDH-ES\",\"enc\""))] + parts.dropFirst()).joined(
                    separator: "."
                )
            ) == "invalid_jwe"
        )
        #expect(code(token, algorithms: [.ecdhES]) == "unsupported_algorithm")
        // An ephemeral point off the curve (invalid-curve attack) is refused before any ECDH.
        if case .object(let members) = try OrderedJSON.parse(Array(original.utf8)), let epk = members.first(where: { $0.name == "epk" }),
            case .object(let epkMembers) = epk.value
        {
            var y = Array(Base64URL.decode(epkMembers.first { $0.name == "y" }?.value.stringValue ?? "") ?? Data())
            y[y.count - 1] ^= 1
            let bent = OrderedJSON.object(
                members.map {
                    $0.name == "epk" ? .init("epk", .object(epkMembers.map { $0.name == "y" ? .init("y", .string(Base64URL.encode(y))) : $0 })) : $0
                }
            )
            #expect(code(([header(bent.serialized)] + parts.dropFirst()).joined(separator: ".")) == "invalid_jwe")
        } else {
            Issue.record("our header has no epk")
        }
        #expect(code(String(repeating: "a", count: JWE.maximumBytes + 1)) == "jwe_too_large")
    }

    @Test func jwksAreCheckedMemberByMember() throws {
        let key = ECPrivateKey.generate(.p384)
        let full = JWK(material: .ecPrivate(key), kid: "k").json(includingPrivate: true)
        let publicOnly = JWK(material: .ecPrivate(key), kid: "k").publicJWK.json()
        #expect(try JWK.parse(publicOnly).thumbprint == JWK(material: .ecPrivate(key)).thumbprint)
        func code(_ text: String, allowPrivate: Bool = false) -> String? {
            do {
                _ = try JWK.parse(text, allowPrivate: allowPrivate)
                return nil
            } catch { return error.code.rawValue }
        }
        #expect(code(full) == "private_jwk_not_accepted")
        #expect(code(full, allowPrivate: true) == nil)
        #expect(code(publicOnly.replacingOccurrences(of: "\"kty\":\"EC\"", with: "\"kty\":\"EC\",\"extra\":\"1\"")) == "invalid_jwk")
        #expect(code(publicOnly.replacingOccurrences(of: "\"kty\":\"EC\"", with: "\"kty\":\"EC\",\"kty\":\"EC\"")) == "invalid_jwk")
        #expect(code(publicOnly.replacingOccurrences(of: "\"crv\":\"P-384\"", with: "\"crv\":\"P-192\"")) == "unsupported_algorithm")
        #expect(code(publicOnly.replacingOccurrences(of: "\"kty\":\"EC\"", with: "\"kty\":\"oct\"")) == "unsupported_algorithm")
        #expect(code(#"{"kty":"EC","crv":"P-384"}"#) == "invalid_jwk")
        #expect(code("[1]") == "invalid_jwk")
        #expect(code("not json") == "invalid_jwk")
        // A point off the curve.
        let y = JWK.ecMembers(key.publicKey)[3].1
        var bytes = Array(Base64URL.decode(y) ?? Data())
        bytes[0] ^= 0x40
        #expect(code(publicOnly.replacingOccurrences(of: y, with: Base64URL.encode(bytes))) == "invalid_jwk")
        // d that does not belong to (x, y).
        let foreignD = Base64URL.encode(ECPrivateKey.generate(.p384).scalar)
        #expect(
            code(publicOnly.replacingOccurrences(of: "\"kty\":\"EC\"", with: "\"kty\":\"EC\",\"d\":\"\(foreignD)\""), allowPrivate: true)
                == "invalid_jwk"
        )
    }

    /// Found by Tests/Fuzz/FuzzJWK: an RSA JWK with `"e":"AA"` (zero) was accepted with an empty exponent, and
    /// its own JSON (`"e":""`) no longer read back. The fuzzer's input is checked in.
    @Test func rsaExponentsThatAreNotRSAExponentsAreRefused() throws {
        let fuzzInput = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fuzz/Regressions/FuzzJWK/rsa-zero-exponent.json")
        let text = try String(contentsOf: fuzzInput, encoding: .utf8)
        func code(_ text: String) -> String? {
            do {
                _ = try JWK.parse(text)
                return nil
            } catch { return error.code.rawValue }
        }
        #expect(code(text) == "invalid_jwk")
        for exponent in ["AAA", "AQ", "AAE", "Ag", "AQAA"] {  // 0, 1, 1 with a leading zero, 2, 65536
            #expect(code(text.replacingOccurrences(of: #""e": "AA""#, with: "\"e\": \"\(exponent)\"")) == "invalid_jwk", "\(exponent)")
        }
        let good = try JWK.parse(text.replacingOccurrences(of: #""e": "AA""#, with: #""e": "AQAB""#))
        #expect(try JWK.parse(good.json()).thumbprint == good.thumbprint)
    }
}
