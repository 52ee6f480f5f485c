import Testing

@testable import KeywardQR

@Suite struct QRCodeTests {
    @Test("Byte capacities match the standard's Table 7")
    func capacities() {
        let expected: [Int: [QRCode.ErrorCorrection: Int]] = [
            1: [.low: 17, .medium: 14, .quartile: 11, .high: 7],
            10: [.low: 271, .medium: 213, .quartile: 151, .high: 119],
            15: [.low: 520, .medium: 412, .quartile: 292, .high: 220],
            40: [.low: 2953, .medium: 2331, .quartile: 1663, .high: 1273],
        ]
        for (version, levels) in expected {
            for (correction, capacity) in levels {
                #expect(
                    QRCodeTables.byteCapacity(version: version, correction: correction) == capacity,
                    "version \(version) \(correction)"
                )
            }
        }
        #expect(QRCodeTables.totalCodewords(version: 1) == 26)
        #expect(QRCodeTables.totalCodewords(version: 7) == 196)
        #expect(QRCodeTables.totalCodewords(version: 40) == 3706)
    }

    @Test("Alignment pattern centres match Annex E")
    func alignmentCenters() {
        #expect(QRCodeTables.alignmentPatternCenters(version: 1) == [])
        #expect(QRCodeTables.alignmentPatternCenters(version: 2) == [6, 18])
        #expect(QRCodeTables.alignmentPatternCenters(version: 7) == [6, 22, 38])
        #expect(QRCodeTables.alignmentPatternCenters(version: 16) == [6, 26, 50, 74])
        #expect(QRCodeTables.alignmentPatternCenters(version: 32) == [6, 34, 60, 86, 112, 138])
        #expect(QRCodeTables.alignmentPatternCenters(version: 40) == [6, 30, 58, 86, 114, 142, 170])
    }

    @Test("Format and version information match Annexes C and D")
    func formatAndVersionInformation() {
        #expect(QRCodeTables.formatInformation(correction: .low, mask: 0) == 0b111_0111_1100_0100)
        #expect(QRCodeTables.formatInformation(correction: .medium, mask: 0) == 0b101_0100_0001_0010)
        #expect(QRCodeTables.formatInformation(correction: .quartile, mask: 0) == 0b011_0101_0101_1111)
        #expect(QRCodeTables.formatInformation(correction: .high, mask: 0) == 0b001_0110_1000_1001)
        #expect(QRCodeTables.versionInformation(version: 7) == 0x07C94)
        #expect(QRCodeTables.versionInformation(version: 40) == 0x28C69)
    }

    @Test("Reed–Solomon codewords of the well-known HELLO WORLD 1-M block")
    func reedSolomon() {
        let data: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
        let expected: [UInt8] = [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]
        #expect(ReedSolomonEncoder(degree: 10).errorCorrection(for: data) == expected)
    }

    @Test("Data codewords: header, terminator and alternating pad bytes")
    func dataCodewords() {
        let codewords = QRCode.dataCodewords(for: Array("ab".utf8), version: 1, correction: .high)
        // 0100 | 00000010 | 01100001 | 01100010 | 0000, then pads to 9 codewords.
        #expect(codewords == [0x40, 0x26, 0x16, 0x20, 0xEC, 0x11, 0xEC, 0x11, 0xEC])
    }

    @Test("Chooses the smallest version that fits")
    func smallestVersion() throws {
        #expect(try QRCode(encoding: [UInt8](repeating: 0x41, count: 14)).version == 1)
        #expect(try QRCode(encoding: [UInt8](repeating: 0x41, count: 15)).version == 2)
        let enrolment = try QRCode(encoding: enrolmentURI.utf8)
        #expect(enrolment.version == 7)
        #expect(enrolment.size == 45)
        #expect(try QRCode(encoding: [UInt8](), correction: .high).version == 1)
    }

    @Test("Input beyond version 40 throws tooLong with the limit")
    func tooLong() throws {
        #expect(throws: QRCodeError.tooLong(bytes: 2332, maximum: 2331)) {
            try QRCode(encoding: [UInt8](repeating: 0, count: 2332))
        }
        #expect(throws: QRCodeError.tooLong(bytes: 1274, maximum: 1273)) {
            try QRCode(encoding: [UInt8](repeating: 0, count: 1274), correction: .high)
        }
        #expect(try QRCode(encoding: [UInt8](repeating: 0, count: 2953), correction: .low).version == 40)
    }

    @Test("Function patterns sit where the standard puts them")
    func functionPatterns() throws {
        let code = try QRCode(encoding: enrolmentURI.utf8)
        let last = code.size - 1
        for (x, y) in [(0, 0), (last - 6, 0), (0, last - 6)] {
            // Finder outer ring dark, then light ring, then dark 3 × 3 core.
            #expect(code.isDark(x: x, y: y) && !code.isDark(x: x + 1, y: y + 1) && code.isDark(x: x + 3, y: y + 3))
        }
        for index in 8...(last - 8) {
            #expect(code.isDark(x: index, y: 6) == index.isMultiple(of: 2), "timing row at \(index)")
            #expect(code.isDark(x: 6, y: index) == index.isMultiple(of: 2), "timing column at \(index)")
        }
        #expect(code.isDark(x: 8, y: code.size - 8), "dark module")
        #expect(!code.isDark(x: -1, y: 0) && !code.isDark(x: 0, y: code.size), "outside is light")
    }

    @Test("SVG path covers exactly the dark modules inside a 4-module quiet zone")
    func svgGeometry() throws {
        let code = try QRCode(encoding: enrolmentURI.utf8)
        let svg = code.svg(label: "Enrol", moduleSize: 5)
        let extent = code.size + 8
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("viewBox=\"0 0 \(extent) \(extent)\""))
        #expect(svg.contains("width=\"\(extent * 5)\" height=\"\(extent * 5)\""))
        #expect(svg.contains("shape-rendering=\"crispEdges\""))
        #expect(svg.contains("role=\"img\" aria-label=\"Enrol\""))
        #expect(svg.ranges(of: "<path").count == 1)

        let drawn = try #require(Self.modulesDrawn(bySVG: svg, extent: extent))
        for y in 0..<extent {
            for x in 0..<extent {
                #expect(drawn[y][x] == code.isDark(x: x - 4, y: y - 4), "module (\(x), \(y))")
            }
        }
    }

    @Test("SVG label is XML-escaped")
    func svgEscapesLabel() throws {
        let svg = try QRCode(encoding: "x".utf8).svg(label: #"Scan <this> & "that" 'now'"#)
        #expect(svg.contains(#"aria-label="Scan &lt;this&gt; &amp; &quot;that&quot; &apos;now&apos;""#))
        #expect(!svg.contains("<this>"))
    }

    @Test("QRCode values are Sendable and Equatable")
    func valueSemantics() async throws {
        let code = try QRCode(encoding: enrolmentURI.utf8)
        let copy = await Task.detached { code }.value
        #expect(copy == code)
        #expect(try QRCode(encoding: enrolmentURI.utf8, correction: .low) != code)
    }

    /// Rebuilds the module grid from the `M x y h n v1 h-n z` runs the encoder writes.
    private static func modulesDrawn(bySVG svg: String, extent: Int) -> [[Bool]]? {
        guard let start = svg.firstRange(of: " d=\""),
            let end = svg[start.upperBound...].firstIndex(of: "\"")
        else { return nil }
        var grid = Array(repeating: Array(repeating: false, count: extent), count: extent)
        for run in svg[start.upperBound..<end].split(separator: "z") {
            let numbers = run.split(whereSeparator: { "Mhv ".contains($0) }).compactMap { Int($0) }
            guard numbers.count == 5, numbers[3] == 1, numbers[4] == -numbers[2] else { return nil }
            let (x, y, length) = (numbers[0], numbers[1], numbers[2])
            for column in x..<x + length { grid[y][column] = true }
        }
        return grid
    }
}
