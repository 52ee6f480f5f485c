import Foundation
import KeywardTestSupport

@testable import KeywardQR

/// Runs the independent peers these tests check against: Python's segno (an encoder),
/// zbarimg (a decoder) and rsvg-convert (an SVG renderer). All are required; `scripts/test` (the
/// README's test command, which CI runs) installs them: `segno`, `zbar-tools`, `librsvg2-bin`.
enum ExternalTools {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// One symbol as segno produced it.
    struct PeerSymbol {
        let version: Int
        let mask: Int
        /// The mask segno picks with its own N3 count (see ``segno(_:)``).
        let unpatchedMask: Int
        /// Penalty score of the finished symbol: segno's N1, N2 and N4, with N3 recounted.
        let penalty: Int
        /// Row-major module colours, `true` dark.
        let modules: [Bool]
    }

    /// A request to segno; `nil` version or mask lets segno choose.
    struct PeerRequest {
        let bytes: [UInt8]
        let correction: QRCode.ErrorCorrection
        var version: Int?
        var mask: Int?
    }

    /// Encodes every request with segno in one Python process (start-up dominates otherwise).
    /// Byte mode and `boost_error=False` keep segno from picking another mode or raising the
    /// level, which would make the symbols incomparable.
    ///
    /// Two segno functions are replaced, each for a known divergence from the standard:
    /// - segno 1.6 appends a whole zero codeword when the bit stream already ends on a
    ///   codeword boundary (heuer/segno#148; 7.4.10 adds padding bits only when it does
    ///   not), which in byte mode is whenever pad codewords follow. At full capacity the
    ///   function does nothing either way, and those symbols match unpatched segno too.
    /// - segno's N3 search resumes seven modules after a pattern it counted, so it misses a
    ///   second finder-like pattern overlapping the first (`10111011101` followed by four
    ///   light modules scores 40, not 80). The mask evaluation recounts N3 at every
    ///   position, as ZXing does and as "each occurrence" reads, keeping segno's N1, N2, N4
    ///   and its mask selection. The mask unpatched segno would pick is reported too.
    static func segno(_ requests: [PeerRequest]) throws -> [PeerSymbol] {
        let script = """
            import sys
            try:
                import segno
                from segno import encoder
            except ImportError:
                sys.exit("segno is missing: `scripts/test` (the README's test command) installs it")

            def write_padding_bits(buff, version, length):
                buff.extend([0] * (-length % 8))

            FINDER_LIKE = bytes((1, 0, 1, 1, 1, 0, 1))
            DIGITS = bytes.maketrans(bytes((0, 1)), b"01")

            def n3(line):
                def light(start, stop):
                    return not any(line[max(start, 0):max(stop, 0)])
                score, start = 0, line.find(FINDER_LIKE)
                while start != -1:
                    if light(start - 4, start) or light(start + 7, start + 11):
                        score += 40
                    start = line.find(FINDER_LIKE, start + 1)
                return score

            def evaluate_mask(matrix, width, height):
                n1, n2, _, n4 = encoder.mask_scores(matrix, width, height)
                lines = [bytes(row) for row in matrix] + [bytes(column) for column in zip(*matrix)]
                return n1 + n2 + n4 + sum(n3(line) for line in lines)

            segno_evaluate_mask = encoder.evaluate_mask
            encoder.write_padding_bits = write_padding_bits
            encoder.evaluate_mask = evaluate_mask

            for line in sys.stdin:
                version, error, mask, data = line.split()
                options = dict(error=error, mode="byte", boost_error=False)
                if version != "-":
                    options["version"] = int(version)
                if mask != "-":
                    options["mask"] = int(mask)
                qr = segno.make_qr(bytes.fromhex(data), **options)
                unpatched_mask = qr.mask
                if mask == "-":
                    encoder.evaluate_mask = segno_evaluate_mask
                    unpatched_mask = segno.make_qr(bytes.fromhex(data), **options).mask
                    encoder.evaluate_mask = evaluate_mask
                size = len(qr.matrix)
                penalty = evaluate_mask(qr.matrix, size, size)
                bits = b"".join(bytes(row) for row in qr.matrix).translate(DIGITS).decode()
                print(qr.version, qr.mask, unpatched_mask, penalty, bits)
            """
        let input = requests.map { request in
            let hex = request.bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
            return "\(request.version.map(String.init) ?? "-") \(request.correction.segnoName) "
                + "\(request.mask.map(String.init) ?? "-") \(hex)\n"
        }.joined()
        let output = try run("python3", ["-c", script], input: Data(input.utf8))
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        guard lines.count == requests.count else {
            throw Failure(description: "segno returned \(lines.count) symbols for \(requests.count) requests")
        }
        return try lines.map { line in
            let fields = line.split(separator: " ")
            guard fields.count == 5, let version = Int(fields[0]), let mask = Int(fields[1]),
                let unpatchedMask = Int(fields[2]), let penalty = Int(fields[3])
            else {
                throw Failure(description: "unexpected segno output: \(line.prefix(80))")
            }
            return PeerSymbol(
                version: version,
                mask: mask,
                unpatchedMask: unpatchedMask,
                penalty: penalty,
                modules: fields[4].utf8.map { $0 == UInt8(ascii: "1") }
            )
        }
    }

    /// Decodes an image of the symbol with zbarimg and returns the raw payload bytes.
    static func zbarDecode(_ code: QRCode) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("qr-\(UUID().uuidString).pbm")
        try Data(portableBitmap(code).utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        // -Sbinary: exact bytes with no charset guessing and no trailing newline.
        return Array(try run("zbarimg", ["--raw", "--quiet", "-Sbinary", file.path]))
    }

    /// Renders the SVG with librsvg, as a browser would draw it, and decodes the PNG with
    /// zbarimg. (zbarimg's own SVG loading through ImageMagick finds no symbol, not even in
    /// segno's SVG, so the rendering step is explicit.)
    static func zbarDecode(svg: String) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("qr-svg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let svgFile = directory.appendingPathComponent("code.svg")
        let pngFile = directory.appendingPathComponent("code.png")
        try Data(svg.utf8).write(to: svgFile)
        _ = try run("rsvg-convert", ["--output", pngFile.path, svgFile.path])
        return Array(try run("zbarimg", ["--raw", "--quiet", "-Sbinary", pngFile.path]))
    }

    /// Plain (P1) PBM, 4 pixels per module with a 4-module quiet zone; zbarimg reads it
    /// through ImageMagick, so no image library is needed here.
    static func portableBitmap(_ code: QRCode, scale: Int = 4, quietZone: Int = 4) -> String {
        let modules = code.size + 2 * quietZone
        var text = "P1\n\(modules * scale) \(modules * scale)\n"
        for moduleY in 0..<modules {
            let row = (0..<modules).map { moduleX in
                let dark = code.isDark(x: moduleX - quietZone, y: moduleY - quietZone)
                return String(repeating: dark ? "1 " : "0 ", count: scale)
            }.joined()
            text += String(repeating: row + "\n", count: scale)
        }
        return text
    }

    /// Runs a tool found on PATH with `input` on its standard input; returns its standard output.
    private static func run(_ tool: String, _ arguments: [String], input: Data = Data()) throws -> Data {
        let (status, output, errors) = try Shell.capture("/usr/bin/env", [tool] + arguments, stdin: input)
        guard status == 0 else {
            let error = String(decoding: errors, as: UTF8.self)
            let hint =
                status == 127
                ? "\(tool) is not installed. \(Shell.installHint)"
                : "\(tool) exited with status \(status)"
            throw Failure(description: "\(hint): \(error.suffix(2_000))")
        }
        return output
    }
}

extension QRCode.ErrorCorrection {
    var segnoName: String {
        switch self {
        case .low: "L"
        case .medium: "M"
        case .quartile: "Q"
        case .high: "H"
        }
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}

extension QRCode {
    /// Row-major module colours, for comparison with a peer's matrix.
    var allModules: [Bool] {
        (0..<size).flatMap { y in (0..<size).map { x in isDark(x: x, y: y) } }
    }
}
