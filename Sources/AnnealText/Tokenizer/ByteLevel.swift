/// GPT-2's byte-to-character map, which Hugging Face's ByteLevel pre-tokenizer and decoder
/// use: every byte gets a printable character so vocabulary entries are readable strings.
/// Printable Latin-1 bytes (33–126, 161–172, 174–255) map to themselves; the other 68
/// bytes map to U+0100, U+0101, ... in byte order.
enum ByteLevel {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte) {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in byteToScalar.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    /// The vocabulary string of a token's bytes.
    static func encode(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// The bytes of a vocabulary string, or nil if it has a character outside the map.
    static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        for scalar in token.unicodeScalars {
            guard let b = scalarToByte[scalar.value] else { return nil }
            bytes.append(b)
        }
        return bytes
    }
}
