import Testing

@testable import KeywardQR

/// Checks against independent implementations: segno (Python) must encode the same input
/// to the same version, mask and modules; zbarimg (zbar-tools) must decode our symbols,
/// drawn as a bitmap or as our SVG rendered by librsvg, back to the input bytes.
@Suite struct PeerTests {
    static let samples: [(name: String, text: String, correction: QRCode.ErrorCorrection)] = [
        ("short ASCII", "Hello, world!", .medium),
        ("otpauth URI", enrolmentURI, .medium),
        ("otpauth URI at H", enrolmentURI, .high),
        ("200 bytes", String(repeating: "Keyward-", count: 25), .medium),
        ("250 bytes at Q", String(repeating: "0123456789abcdefghijklmnopqrstuvwxyz+/=", count: 7).prefix(250).description, .quartile),
        ("160 bytes at H", String(repeating: "alice@example.com ", count: 9).prefix(160).description, .high),
        ("UTF-8", "Grüße aus Köln, 鍵 🔑", .low),
    ]

    @Test("Same version, matrices and penalty scores as segno", arguments: samples.indices)
    func matchesSegno(sample index: Int) throws {
        let sample = Self.samples[index]
        let code = try QRCode(encoding: sample.text.utf8, correction: sample.correction)
        try Self.expectAgreement(with: code, bytes: Array(sample.text.utf8), segnoChoosesVersion: true)
    }

    /// Versions spread over every size class (1-6 without version information, 7+ with it, the
    /// alignment-pattern grid changes at 7, 14, 21, 28, 35); all 40 pass, this subset keeps CI quick.
    static let spreadVersions = [1, 2, 5, 6, 7, 10, 13, 14, 20, 21, 27, 28, 34, 35, 40]

    @Test("Versions at capacity match segno, all masks", arguments: QRCode.ErrorCorrection.allCases)
    func everyVersionMatchesSegno(correction: QRCode.ErrorCorrection) throws {
        var random = SplitMix64(seed: 0x5EED)
        for version in Self.spreadVersions {
            // Filled to capacity, so the terminator is truncated or absent in some versions.
            let count = QRCodeTables.byteCapacity(version: version, correction: correction)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let code = try QRCode(bytes: bytes, correction: correction, version: version, mask: nil)
            try Self.expectAgreement(with: code, bytes: bytes, segnoChoosesVersion: false)
        }
    }

    @Test("zbarimg decodes our symbols to the exact input", arguments: samples.indices)
    func zbarDecodes(sample index: Int) throws {
        let sample = Self.samples[index]
        let bytes = Array(sample.text.utf8)
        let code = try QRCode(encoding: bytes, correction: sample.correction)
        #expect(try ExternalTools.zbarDecode(code) == bytes, "\(sample.name)")
    }

    @Test("zbarimg decodes large versions", arguments: [(15, QRCode.ErrorCorrection.medium), (27, .low), (40, .high)])
    func zbarDecodesLargeVersions(version: Int, correction: QRCode.ErrorCorrection) throws {
        let count = QRCodeTables.byteCapacity(version: version, correction: correction)
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: count / 45 + 1)
        let bytes = Array(text.utf8.prefix(count))
        let code = try QRCode(encoding: bytes, correction: correction)
        #expect(code.version == version)
        #expect(try ExternalTools.zbarDecode(code) == bytes)
    }

    @Test("zbarimg decodes our SVG as librsvg renders it", arguments: [1, 4])
    func zbarDecodesSVG(moduleSize: Int) throws {
        let code = try QRCode(encoding: enrolmentURI.utf8)
        let svg = code.svg(label: "Scan to add Keyward <alice@example.com>", moduleSize: moduleSize)
        #expect(try ExternalTools.zbarDecode(svg: svg) == Array(enrolmentURI.utf8))
    }

    /// Compares `code` with segno at the same version and level: the same mask chosen
    /// automatically, and for each of the eight masks identical modules and penalty score.
    private static func expectAgreement(with code: QRCode, bytes: [UInt8], segnoChoosesVersion: Bool) throws {
        let label = "\(bytes.count) bytes, version \(code.version) \(code.correction)"
        let masks = Array(ModuleGrid.maskRange)
        var requests = masks.map {
            ExternalTools.PeerRequest(bytes: bytes, correction: code.correction, version: code.version, mask: $0)
        }
        requests.append(.init(bytes: bytes, correction: code.correction, version: segnoChoosesVersion ? nil : code.version))
        let peers = try ExternalTools.segno(requests)
        let segnoChoice = peers[masks.count]

        #expect(segnoChoice.version == code.version, "\(label): version")
        #expect(segnoChoice.mask == code.mask, "\(label): mask choice")
        if segnoChoice.unpatchedMask != code.mask {
            print("note: \(label): segno with its own N3 count picks mask \(segnoChoice.unpatchedMask), not \(code.mask)")
        }
        for mask in masks {
            let ours = try QRCode(bytes: bytes, correction: code.correction, version: code.version, mask: mask)
            // A count, not the arrays: a failing comparison of 31,329 modules is unreadable.
            let differing = zip(ours.allModules, peers[mask].modules).filter { $0 != $1 }.count
            #expect(peers[mask].modules.count == code.size * code.size, "\(label), mask \(mask): symbol size")
            #expect(differing == 0, "\(label), mask \(mask): modules differ from segno's")
            let penalty = ModuleGrid.penalty(of: ours.allModules, size: code.size)
            #expect(penalty == peers[mask].penalty, "\(label), mask \(mask): penalty score")
        }
    }
}

/// Deterministic pseudo-random bytes, so that failures reproduce.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

let enrolmentURI = "otpauth://totp/Keyward:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Keyward&algorithm=SHA1&digits=6&period=30"
