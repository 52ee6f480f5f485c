import Foundation
import Hummingbird
import HummingbirdTesting
import KeywardCore
import Testing

/// Key generation refuses bad input before it generates: an RSA-4096 key costs seconds of CPU in a debug
/// build (schemathesis timed out after 20 s on a store key with a malformed `expires_at`, which was only
/// read after the key was made). A refusal must cost a lookup, whatever key size was asked for.
@Suite(.closesStores) struct KeyGenerationRefusalTests {
    @Test func badInputToKeyGenerationIsRefusedBeforeAnyKeyIsGenerated() async throws {
        let (app, tenant) = try await Harness.appWithTenant()
        try await app.test(.router) { client in
            let key = tenant.testKey.secret
            let store =
                try await client.call(.post, "/v1/manage/stores", key: key, json: #"{"dialect":"mypos","name":"Shop"}"#).json["id"] as? String ?? ""
            let clock = ContinuousClock()
            var seconds: [Int: [Double]] = [2048: [], 4096: []]
            // Interleaved, so both sizes meet the same load (the full suite runs in parallel on 2 cores).
            for _ in 0..<3 {
                for bits in [2048, 4096] {
                    let requests: [(String, String, (TestResponse) -> Void)] = [
                        (
                            "/v1/manage/stores/\(store)/keys/generate", #"{"bits":\#(bits),"expires_at":"2001-01-01T00:00:00Z"}"#,
                            { $0.expectProblem(.badRequest, "invalid_date") }
                        ),
                        (
                            "/v1/manage/stores/\(store)/keys/generate", #"{"bits":\#(bits),"allowed_ips":["not an address"]}"#,
                            { #expect($0.status == .badRequest && $0.json["field"] as? String == "allowed_ips") }
                        ),
                        (
                            "/v1/manage/stores/sto_0000000000000000000000/keys/generate", #"{"bits":\#(bits)}"#,
                            { $0.expectProblem(.notFound, "resource_missing") }
                        ),
                        (
                            "/v1/manage/signing-keys/generate", #"{"algorithm":"rsa-\#(bits)","expires_at":"2001-01-01T00:00:00Z"}"#,
                            { $0.expectProblem(.badRequest, "invalid_date") }
                        ),
                    ]
                    for (path, body, check) in requests {
                        let started = clock.now
                        try await client.call(.post, path, key: key, json: body, check)
                        let elapsed = (clock.now - started).components
                        seconds[bits, default: []].append(Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
                    }
                }
            }
            // Nothing was made.
            let keys = try await client.call(.get, "/v1/manage/stores/\(store)", key: key).json["keys"] as? [Any]
            #expect(keys?.isEmpty == true)
            // Generating first made a 4096-bit refusal 5 to 10 times slower than a 2048-bit one (3 to 22 s apiece
            // on the loaded CI machine); checked first, both cost the same lookup.
            let median = { (values: [Double]) in values.sorted()[values.count / 2] }
            let small = median(seconds[2048] ?? [0])
            let large = median(seconds[4096] ?? [0])
            #expect(
                large < 2.5 * small + 0.2,
                "median refusal: \(large) s at 4096 bits, \(small) s at 2048: keys are generated before the input is checked"
            )
        }
    }
}
