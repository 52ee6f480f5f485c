/// The module matrix while a symbol is being built: function patterns, data placement,
/// masking and mask evaluation (ISO/IEC 18004, 7.7–7.10).
struct ModuleGrid: Sendable {
    static let maskRange = 0...7

    let size: Int
    /// Row-major; `true` is dark.
    private(set) var modules: [Bool]
    /// Modules of function patterns and format/version information, which data skips and
    /// masks leave alone.
    private var isFunction: [Bool]

    /// A grid with every function pattern drawn, and the format and version information
    /// areas reserved but light.
    ///
    /// The information is written only once the mask is chosen
    /// (``drawInformation(version:correction:mask:)``), following the order of the
    /// standard's encoding procedure: data masking, then format and version information.
    /// So those areas count as light when masks are scored, as in segno. Encoders that score
    /// the finished symbol (ZXing, libqrencode) sometimes pick another mask; any is valid.
    init(version: Int) {
        size = QRCodeTables.size(version: version)
        modules = Array(repeating: false, count: size * size)
        isFunction = modules

        // Timing first: finder separators and alignment patterns then overwrite its ends
        // and crossings, which matches the standard's layout.
        for index in 0..<size {
            setFunction(x: 6, y: index, dark: index % 2 == 0)
            setFunction(x: index, y: 6, dark: index % 2 == 0)
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            drawFinderPattern(centerX: x, centerY: y)
        }
        let centers = QRCodeTables.alignmentPatternCenters(version: version)
        for x in centers {
            for y in centers where !overlapsFinder(x: x, y: y, centers: centers) {
                drawAlignmentPattern(centerX: x, centerY: y)
            }
        }
        writeFormatBits(0)
        setFunction(x: 8, y: size - 8, dark: false)
        if version >= 7 {
            writeVersionBits(0)
        }
    }

    /// Fills the non-function modules with codeword bits in the standard zigzag: two-module
    /// wide columns from the right edge, alternately upwards and downwards (7.7.3).
    /// Modules left over after the last codeword stay light (remainder bits are zero).
    mutating func place(_ codewords: [UInt8]) {
        let bitCount = codewords.count * 8
        var bitIndex = 0
        var upward = true
        var right = size - 1
        while right > 0 {
            // The vertical timing pattern occupies a whole column; pairs shift left past it.
            if right == 6 { right -= 1 }
            for step in 0..<size {
                let y = upward ? size - 1 - step : step
                for x in [right, right - 1] where !isFunction[y * size + x] && bitIndex < bitCount {
                    let byte = codewords[bitIndex / 8]
                    modules[y * size + x] = (byte >> UInt8(7 - bitIndex % 8)) & 1 == 1
                    bitIndex += 1
                }
            }
            upward.toggle()
            right -= 2
        }
    }

    /// Inverts every data module for which the mask's condition holds (Table 10).
    mutating func apply(mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !isFunction[y * size + x] && Self.maskCondition(mask, x: x, y: y) {
                modules[y * size + x].toggle()
            }
        }
    }

    /// Table 10 with i = row (y) and j = column (x).
    private static func maskCondition(_ mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (y / 2 + x / 3) % 2 == 0
        case 5: x * y % 2 + x * y % 3 == 0
        case 6: (x * y % 2 + x * y % 3) % 2 == 0
        case 7: ((x + y) % 2 + x * y % 3) % 2 == 0
        default: preconditionFailure("mask \(mask) is outside 0...7")
        }
    }

    /// Writes format information for the chosen mask, the always-dark module beside it, and
    /// from version 7 on the version information.
    mutating func drawInformation(version: Int, correction: QRCode.ErrorCorrection, mask: Int) {
        writeFormatBits(QRCodeTables.formatInformation(correction: correction, mask: mask))
        setFunction(x: 8, y: size - 8, dark: true)
        if version >= 7 {
            writeVersionBits(QRCodeTables.versionInformation(version: version))
        }
    }

    /// Both copies of the 15 format bits, least significant bit first along each copy (7.9.1).
    private mutating func writeFormatBits(_ bits: Int) {
        for index in 0..<15 {
            let dark = (bits >> index) & 1 == 1
            // Copy around the top-left finder: down column 8, skipping the timing row,
            // then leftwards along row 8, skipping the timing column.
            switch index {
            case 0...5: setFunction(x: 8, y: index, dark: dark)
            case 6...7: setFunction(x: 8, y: index + 1, dark: dark)
            case 8: setFunction(x: 7, y: 8, dark: dark)
            default: setFunction(x: 14 - index, y: 8, dark: dark)
            }
            // Copy split between the top-right (row 8) and bottom-left (column 8) finders.
            if index < 8 {
                setFunction(x: size - 1 - index, y: 8, dark: dark)
            } else {
                setFunction(x: 8, y: size - 15 + index, dark: dark)
            }
        }
    }

    /// Both 6 × 3 copies of the 18 version bits, beside the top-right and bottom-left
    /// finders (7.10).
    private mutating func writeVersionBits(_ bits: Int) {
        for index in 0..<18 {
            let dark = (bits >> index) & 1 == 1
            let long = index / 3
            let short = size - 11 + index % 3
            setFunction(x: short, y: long, dark: dark)
            setFunction(x: long, y: short, dark: dark)
        }
    }

    /// A 7 × 7 finder with its light separator; parts of the separator that fall outside
    /// the symbol are clipped.
    private mutating func drawFinderPattern(centerX: Int, centerY: Int) {
        for dy in -4...4 {
            for dx in -4...4 {
                let x = centerX + dx
                let y = centerY + dy
                guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                let ring = max(abs(dx), abs(dy))
                setFunction(x: x, y: y, dark: ring != 2 && ring != 4)
            }
        }
    }

    private mutating func drawAlignmentPattern(centerX: Int, centerY: Int) {
        for dy in -2...2 {
            for dx in -2...2 {
                setFunction(x: centerX + dx, y: centerY + dy, dark: max(abs(dx), abs(dy)) != 1)
            }
        }
    }

    /// Alignment positions at three corners of the grid would sit on finder patterns and
    /// are left out.
    private func overlapsFinder(x: Int, y: Int, centers: [Int]) -> Bool {
        guard let first = centers.first, let last = centers.last else { return false }
        return (x == first && y == first) || (x == first && y == last) || (x == last && y == first)
    }

    private mutating func setFunction(x: Int, y: Int, dark: Bool) {
        modules[y * size + x] = dark
        isFunction[y * size + x] = true
    }

    // MARK: - Mask evaluation (7.8.3)

    /// Penalty score of a module matrix (row-major, `true` dark); lower is easier to read.
    static func penalty(of modules: [Bool], size: Int) -> Int {
        func isDark(_ x: Int, _ y: Int) -> Bool { modules[y * size + x] }
        var score = 0
        for index in 0..<size {
            let row = (0..<size).map { isDark($0, index) }
            let column = (0..<size).map { isDark(index, $0) }
            score += linePenalty(row) + linePenalty(column)
        }
        // N2: 3 points for every 2 × 2 block of one colour; overlapping blocks each count,
        // which is how an m × n area scores 3 × (m − 1) × (n − 1).
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let colour = isDark(x, y)
                if isDark(x + 1, y) == colour, isDark(x, y + 1) == colour, isDark(x + 1, y + 1) == colour {
                    score += 3
                }
            }
        }
        // N4: 10 points for each full 5% step that the dark share deviates from 50%, in
        // integers: |dark / total × 100 − 50| / 5 = |20 × dark − 10 × total| / total.
        let total = size * size
        let dark = modules.count { $0 }
        score += 10 * (abs(20 * dark - 10 * total) / total)
        return score
    }

    /// N1 and N3 for one row or column.
    private static func linePenalty(_ line: [Bool]) -> Int {
        var score = 0
        // N1: a run of 5 + i modules of one colour scores 3 + i.
        var runStart = 0
        for index in 1...line.count where index == line.count || line[index] != line[runStart] {
            let length = index - runStart
            if length >= 5 { score += length - 2 }
            runStart = index
        }
        // N3: 40 points for each dark:light:dark:light:dark = 1:1:3:1:1 pattern with four
        // light modules on at least one side; overlapping occurrences each count. Outside
        // the symbol counts as light, since the quiet zone is, so patterns at the edge count.
        func isLight(_ range: Range<Int>) -> Bool {
            range.allSatisfy { !line.indices.contains($0) || !line[$0] }
        }
        for start in 0...(line.count - finderLike.count)
        where line[start..<start + finderLike.count].elementsEqual(finderLike) {
            let end = start + finderLike.count
            if isLight(start - 4..<start) || isLight(end..<end + 4) {
                score += 40
            }
        }
        return score
    }

    private static let finderLike = [true, false, true, true, true, false, true]
}
