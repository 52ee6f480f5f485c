/// Per-version geometry and capacities of QR Code model 2 (ISO/IEC 18004, 6.4 and 7.5.1).
enum QRCodeTables {
    static let versions = 1...40

    /// Modules per side of a symbol.
    static func size(version: Int) -> Int {
        17 + 4 * version
    }

    /// Bits of the byte-mode character count indicator (Table 3).
    static func characterCountBits(version: Int) -> Int {
        version <= 9 ? 8 : 16
    }

    /// Error-correction codewords in each block (Table 9).
    static func errorCorrectionCodewordsPerBlock(version: Int, correction: QRCode.ErrorCorrection) -> Int {
        errorCorrectionCodewordsPerBlock[correction.tableIndex][version - 1]
    }

    /// Number of Reed–Solomon blocks the codewords are split into (Table 9).
    static func blockCount(version: Int, correction: QRCode.ErrorCorrection) -> Int {
        blockCount[correction.tableIndex][version - 1]
    }

    /// Codewords (data plus error correction) that fit in the symbol. Derived from the
    /// module count rather than tabulated: everything not taken by function patterns,
    /// format or version information holds data, and leftover (remainder) bits are dropped.
    static func totalCodewords(version: Int) -> Int {
        let size = size(version: version)
        var modules = size * size
        modules -= 3 * 64  // finder patterns with their separators
        modules -= 2 * (size - 16)  // timing patterns between the separators
        modules -= 2 * 15 + 1  // two copies of format information, and the dark module
        let alignmentCount = alignmentPatternCenters(version: version).count
        if alignmentCount > 0 {
            // Patterns on the grid except the three under finders; those on row or column 6
            // share 5 modules each with the timing patterns already subtracted.
            let patterns = alignmentCount * alignmentCount - 3
            let onTimingLines = 2 * (alignmentCount - 2)
            modules -= 25 * patterns - 5 * onTimingLines
        }
        if version >= 7 {
            modules -= 2 * 18  // two copies of version information
        }
        return modules / 8
    }

    /// Data codewords available after error correction is set aside.
    static func dataCodewords(version: Int, correction: QRCode.ErrorCorrection) -> Int {
        totalCodewords(version: version)
            - errorCorrectionCodewordsPerBlock(version: version, correction: correction)
            * blockCount(version: version, correction: correction)
    }

    /// The most bytes a byte-mode segment can carry in this version.
    static func byteCapacity(version: Int, correction: QRCode.ErrorCorrection) -> Int {
        let headerBits = 4 + characterCountBits(version: version)
        return (dataCodewords(version: version, correction: correction) * 8 - headerBits) / 8
    }

    /// Row/column coordinates of alignment pattern centres (Annex E). They run evenly
    /// spaced from column 6 to size − 7, with an even step so that they land on dark
    /// timing modules; version 32 is the one place where the standard's step is smaller
    /// than that rule gives.
    static func alignmentPatternCenters(version: Int) -> [Int] {
        guard version >= 2 else { return [] }
        let count = version / 7 + 2
        let last = size(version: version) - 7
        let span = last - 6
        let intervals = count - 1
        let step = version == 32 ? 26 : (span + 2 * intervals - 1) / (2 * intervals) * 2
        let tail = (0..<intervals).map { last - $0 * step }
        return [6] + tail.reversed()
    }

    /// The 15 format information bits: level and mask, BCH(15,5) protected, then XORed with
    /// a fixed pattern so that they are never all light (7.9.1).
    static func formatInformation(correction: QRCode.ErrorCorrection, mask: Int) -> Int {
        let data = correction.formatIndicator << 3 | mask
        return (data << 10 | bchRemainder(of: data, generator: 0b101_0011_0111)) ^ 0b101_0100_0001_0010
    }

    /// The 18 version information bits, BCH(18,6) protected (7.10).
    static func versionInformation(version: Int) -> Int {
        version << 12 | bchRemainder(of: version, generator: 0b1_1111_0010_0101)
    }

    /// Remainder of value · x^d divided by the generator (of degree d) over GF(2).
    private static func bchRemainder(of value: Int, generator: Int) -> Int {
        let degree = Int.bitWidth - 1 - generator.leadingZeroBitCount
        var remainder = value << degree
        while true {
            let remainderDegree = Int.bitWidth - 1 - remainder.leadingZeroBitCount
            guard remainderDegree >= degree else { return remainder }
            remainder ^= generator << (remainderDegree - degree)
        }
    }

    // Table 9, indexed [level][version − 1] with levels in L, M, Q, H order.
    private static let errorCorrectionCodewordsPerBlock: [[Int]] = [
        [
            7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
            28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
        ],
        [
            10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
            26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        ],
        [
            13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
            28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
        ],
        [
            17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
            30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
        ],
    ]

    private static let blockCount: [[Int]] = [
        [
            1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
            8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25,
        ],
        [
            1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
            17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
        ],
        [
            1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
            23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68,
        ],
        [
            1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
            25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81,
        ],
    ]
}

extension QRCode.ErrorCorrection {
    fileprivate var tableIndex: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }

    /// The two-bit level indicator of format information (Table 12); not in L < M < Q < H order.
    fileprivate var formatIndicator: Int {
        switch self {
        case .low: 0b01
        case .medium: 0b00
        case .quartile: 0b11
        case .high: 0b10
        }
    }
}
