/// Punycode (RFC 3492): the encoding that turns a Unicode label into the ASCII after `xn--`
/// (`bücher` ↔ `bcher-kva`). Written here because nothing in our dependencies exposes it.
public enum Punycode {
    /// The Punycode of one label (without `xn--`); nil when it cannot be encoded.
    public static func encode(_ label: String) -> String? { encode(Array(label.unicodeScalars)) }

    /// The label `encoded` (without `xn--`) stands for; nil when it is not valid Punycode.
    public static func decode(_ encoded: String) -> String? {
        decode(Substring(encoded)).map { String(String.UnicodeScalarView($0)) }
    }

    static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700, initialBias = 72, initialN = 128
    /// Labels are at most 63 octets; anything that would overflow these bounds is not a label.
    static let maximumScalars = 256

    /// The Punycode of `scalars` (without the `xn--` prefix); nil for input no label can hold.
    static func encode(_ scalars: [Unicode.Scalar]) -> String? {
        guard scalars.count <= maximumScalars else { return nil }
        let input = scalars.map { Int($0.value) }
        var output: [UInt8] = input.filter { $0 < 0x80 }.map { UInt8($0) }
        let basicCount = output.count
        if basicCount > 0 { output.append(UInt8(ascii: "-")) }
        var n = initialN
        var delta = 0
        var bias = initialBias
        var handled = basicCount
        while handled < input.count {
            guard let m = input.filter({ $0 >= n }).min() else { return nil }
            delta += (m - n) * (handled + 1)
            n = m
            for c in input {
                if c < n { delta += 1 }
                guard c == n else { continue }
                var q = delta
                var k = base
                while true {
                    let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                    if q < t { break }
                    output.append(digit(t + (q - t) % (base - t)))
                    q = (q - t) / (base - t)
                    k += base
                }
                output.append(digit(q))
                bias = adapt(delta, handled + 1, firstTime: handled == basicCount)
                delta = 0
                handled += 1
            }
            delta += 1
            n += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The Unicode scalars `encoded` stands for; nil when it is not valid Punycode.
    static func decode(_ encoded: Substring) -> [Unicode.Scalar]? {
        let bytes = Array(encoded.utf8)
        guard bytes.count <= maximumScalars, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var output: [Int] = []
        var position = 0
        if let dash = bytes.lastIndex(of: UInt8(ascii: "-")) {
            output = bytes[..<dash].map(Int.init)
            position = dash + 1
        }
        var n = initialN
        var i = 0
        var bias = initialBias
        while position < bytes.count {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard position < bytes.count, let value = digitValue(bytes[position]) else { return nil }
                position += 1
                i += value * w
                guard i <= 0x10FFFF * (output.count + 1) else { return nil }
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if value < t { break }
                w *= base - t
                guard w <= 0x10FFFF * base else { return nil }
                k += base
            }
            bias = adapt(i - oldI, output.count + 1, firstTime: oldI == 0)
            n += i / (output.count + 1)
            i %= output.count + 1
            guard n <= 0x10FFFF else { return nil }
            output.insert(n, at: i)
            i += 1
        }
        let scalars = output.compactMap { Unicode.Scalar(UInt32($0)) }
        return scalars.count == output.count ? scalars : nil
    }

    static func adapt(_ delta: Int, _ points: Int, firstTime: Bool) -> Int {
        var delta = firstTime ? delta / damp : delta / 2
        delta += delta / points
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    static func digit(_ value: Int) -> UInt8 {
        value < 26 ? UInt8(ascii: "a") + UInt8(value) : UInt8(ascii: "0") + UInt8(value - 26)
    }

    static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): Int(byte - UInt8(ascii: "a"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): Int(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0")) + 26
        default: nil
        }
    }
}
