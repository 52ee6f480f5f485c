/// A QR Code symbol (ISO/IEC 18004 model 2) carrying bytes in a single byte-mode segment.
///
/// ```swift
/// let code = try QRCode(encoding: enrolmentURI.utf8)
/// let markup = code.svg(label: "QR code to add Keyward to an authenticator app")
/// ```
///
/// The smallest version that fits is chosen, and of the eight data masks the one with the
/// lowest penalty score under the standard's rules (7.8.3), ties going to the lower mask.
public struct QRCode: Sendable, Equatable {
    /// How much of the symbol may be damaged or obscured and still be read; higher levels
    /// need larger symbols for the same data.
    public enum ErrorCorrection: Sendable, CaseIterable {
        /// Recovers about 7% of codewords.
        case low
        /// Recovers about 15% of codewords.
        case medium
        /// Recovers about 25% of codewords.
        case quartile
        /// Recovers about 30% of codewords.
        case high
    }

    /// Modules per side, excluding the quiet zone: 17 + 4 × ``version``.
    public let size: Int
    /// Symbol version, 1 through 40.
    public let version: Int
    /// The error-correction level the symbol was encoded with.
    public let correction: ErrorCorrection
    /// The data mask pattern applied, 0 through 7.
    public let mask: Int
    /// Row-major; `true` is a dark module.
    private let modules: [Bool]

    /// Encodes `bytes` in byte mode, so pass text as UTF-8 (`string.utf8`).
    ///
    /// - Throws: ``QRCodeError/tooLong(bytes:maximum:)`` when even version 40 cannot hold
    ///   the bytes at this error-correction level.
    public init(encoding bytes: some Collection<UInt8>, correction: ErrorCorrection = .medium) throws(QRCodeError) {
        try self.init(bytes: Array(bytes), correction: correction, version: nil, mask: nil)
    }

    /// Like the public initialiser, but can pin the version and mask, which tests need to
    /// compare module-for-module with other encoders.
    init(bytes: [UInt8], correction: ErrorCorrection, version pinnedVersion: Int?, mask pinnedMask: Int?) throws(QRCodeError) {
        let candidates = pinnedVersion.map { $0...$0 } ?? QRCodeTables.versions
        guard
            let version = candidates.first(where: {
                bytes.count <= QRCodeTables.byteCapacity(version: $0, correction: correction)
            })
        else {
            let largest = candidates.upperBound
            throw .tooLong(bytes: bytes.count, maximum: QRCodeTables.byteCapacity(version: largest, correction: correction))
        }

        let codewords = Self.codewords(for: bytes, version: version, correction: correction)
        var template = ModuleGrid(version: version)
        template.place(codewords)

        let masks = pinnedMask.map { [$0] } ?? Array(ModuleGrid.maskRange)
        var best: (grid: ModuleGrid, mask: Int, penalty: Int)?
        for mask in masks {
            var grid = template
            grid.apply(mask: mask)
            let penalty = ModuleGrid.penalty(of: grid.modules, size: grid.size)
            // Strictly lower keeps the first of equals, so ties resolve to the lower mask.
            if penalty < best?.penalty ?? .max {
                best = (grid, mask, penalty)
            }
        }
        guard var grid = best?.grid, let mask = best?.mask else {
            preconditionFailure("at least one mask is evaluated")
        }
        grid.drawInformation(version: version, correction: correction, mask: mask)

        self.size = grid.size
        self.version = version
        self.correction = correction
        self.mask = mask
        self.modules = grid.modules
    }

    /// Whether the module at column `x`, row `y` is dark. Coordinates outside the symbol are
    /// light, as the surrounding quiet zone is.
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// A standalone SVG document, suitable for inline use in HTML, drawing the symbol
    /// black on white with the 4-module quiet zone readers need.
    ///
    /// Coordinates are in modules (the `viewBox`), so the image scales cleanly;
    /// `moduleSize` only sets the intrinsic `width` and `height` in pixels.
    ///
    /// - Parameters:
    ///   - label: Accessible name for the image (`aria-label`); it is XML-escaped here.
    ///   - moduleSize: Pixels per module for the intrinsic size; values below 1 count as 1.
    public func svg(label: String, moduleSize: Int = 4) -> String {
        let quietZone = 4
        let extent = size + 2 * quietZone
        let pixels = extent * max(moduleSize, 1)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(pixels)\" height=\"\(pixels)\""
            + " viewBox=\"0 0 \(extent) \(extent)\" shape-rendering=\"crispEdges\""
            + " role=\"img\" aria-label=\"\(Self.xmlEscaped(label))\">"
            + "<rect width=\"\(extent)\" height=\"\(extent)\" fill=\"#fff\"/>"
            + "<path fill=\"#000\" d=\"\(darkModulePath(offset: quietZone))\"/>"
            + "</svg>"
    }

    /// Path data with one closed rectangle per horizontal run of dark modules, which keeps
    /// the markup several times smaller than one square per module.
    private func darkModulePath(offset: Int) -> String {
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                let start = x
                // isDark is false past the right edge, which ends a run at the last column.
                while isDark(x: x, y: y) { x += 1 }
                let run = x - start
                path += "M\(start + offset) \(y + offset)h\(run)v1h-\(run)z"
            }
        }
        return path
    }

    /// Escapes text for an XML attribute value in double or single quotes.
    static func xmlEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Data codewords (7.4) split into blocks, each followed by its Reed–Solomon codewords,
    /// then interleaved (7.6) so that a local smudge spreads its damage across blocks.
    static func codewords(for bytes: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let data = dataCodewords(for: bytes, version: version, correction: correction)
        let blockCount = QRCodeTables.blockCount(version: version, correction: correction)
        let errorCorrectionLength = QRCodeTables.errorCorrectionCodewordsPerBlock(version: version, correction: correction)
        // When the data does not divide evenly, the later blocks are one codeword longer.
        let shortBlockLength = data.count / blockCount
        let shortBlockCount = blockCount - data.count % blockCount
        let encoder = ReedSolomonEncoder(degree: errorCorrectionLength)

        var dataBlocks: [ArraySlice<UInt8>] = []
        var start = data.startIndex
        for index in 0..<blockCount {
            let length = shortBlockLength + (index < shortBlockCount ? 0 : 1)
            dataBlocks.append(data[start..<start + length])
            start += length
        }
        let errorCorrectionBlocks = dataBlocks.map { encoder.errorCorrection(for: Array($0)) }

        var result: [UInt8] = []
        result.reserveCapacity(QRCodeTables.totalCodewords(version: version))
        for position in 0...shortBlockLength {
            for block in dataBlocks where position < block.count {
                result.append(block[block.startIndex + position])
            }
        }
        for position in 0..<errorCorrectionLength {
            for block in errorCorrectionBlocks {
                result.append(block[position])
            }
        }
        return result
    }

    /// Mode indicator, character count and the bytes, then terminator and padding up to
    /// the data capacity of the version. The caller has checked that the bytes fit.
    static func dataCodewords(for bytes: [UInt8], version: Int, correction: ErrorCorrection) -> [UInt8] {
        let capacity = QRCodeTables.dataCodewords(version: version, correction: correction)
        var writer = BitWriter()
        writer.append(0b0100, bits: 4)  // byte mode
        writer.append(bytes.count, bits: QRCodeTables.characterCountBits(version: version))
        for byte in bytes {
            writer.append(Int(byte), bits: 8)
        }
        // The terminator is cut short, or left out, when the data fills the symbol.
        writer.append(0, bits: min(4, capacity * 8 - writer.bitCount))
        writer.append(0, bits: (8 - writer.bitCount % 8) % 8)
        // Pad codewords 11101100 and 00010001 alternate up to capacity.
        var padding: [UInt8] = [0b1110_1100, 0b0001_0001]
        while writer.bytes.count < capacity {
            writer.append(Int(padding[0]), bits: 8)
            padding.swapAt(0, 1)
        }
        return writer.bytes
    }
}

/// Thrown when the input cannot be encoded.
public enum QRCodeError: Error, Sendable, Equatable {
    /// The input needs more than version 40 holds at the requested error-correction level.
    case tooLong(bytes: Int, maximum: Int)
}

/// Appends values most significant bit first, as QR Code data streams are laid out.
private struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var bitCount = 0

    mutating func append(_ value: Int, bits: Int) {
        for shift in stride(from: bits - 1, through: 0, by: -1) {
            if bitCount % 8 == 0 { bytes.append(0) }
            if (value >> shift) & 1 == 1 {
                bytes[bytes.count - 1] |= 0x80 >> UInt8(bitCount % 8)
            }
            bitCount += 1
        }
    }
}

/// Reed–Solomon error-correction codewords as QR Code uses them (ISO/IEC 18004, 7.5):
/// arithmetic in GF(2⁸) reduced by x⁸ + x⁴ + x³ + x² + 1 (0x11D), and a generator
/// polynomial whose roots are α⁰ … αⁿ⁻¹ with α = 2.
struct ReedSolomonEncoder: Sendable {
    /// Generator coefficients from x^(degree−1) down to x⁰; the leading 1 of the monic
    /// polynomial is implicit because division never needs it.
    private let generator: [UInt8]

    /// Prepares an encoder that produces `degree` error-correction codewords per block.
    init(degree: Int) {
        var coefficients: [UInt8] = [1]
        var root: UInt8 = 1
        for _ in 0..<degree {
            // Multiply by (x − root); subtraction is XOR in characteristic 2.
            var product = [UInt8](repeating: 0, count: coefficients.count + 1)
            for (index, coefficient) in coefficients.enumerated() {
                product[index] ^= coefficient
                product[index + 1] ^= Self.multiply(coefficient, root)
            }
            coefficients = product
            root = Self.multiply(root, 2)
        }
        generator = Array(coefficients.dropFirst())
    }

    /// The error-correction codewords for one data block: the remainder of
    /// data(x) · x^degree divided by the generator polynomial.
    func errorCorrection(for data: [UInt8]) -> [UInt8] {
        var remainder = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ remainder.removeFirst()
            remainder.append(0)
            for index in remainder.indices {
                remainder[index] ^= Self.multiply(generator[index], factor)
            }
        }
        return remainder
    }

    /// Product in GF(2⁸) by shift-and-add; a few hundred thousand calls at most per
    /// symbol, so log tables would only add code.
    static func multiply(_ lhs: UInt8, _ rhs: UInt8) -> UInt8 {
        var shifted = lhs
        var multiplier = rhs
        var product: UInt8 = 0
        while multiplier != 0 {
            if multiplier & 1 != 0 { product ^= shifted }
            let overflows = shifted & 0x80 != 0
            shifted <<= 1
            // Reduce by the field polynomial; its x⁸ term is the bit just shifted out.
            if overflows { shifted ^= 0x1D }
            multiplier >>= 1
        }
        return product
    }
}
