import Foundation
import Testing

@testable import AnnealPipeline

/// The byte writer behind `canonicalJSON` (hashed into every action key) must write what the
/// string-building writer it replaced wrote: any difference would rerun every stage once.
@Suite struct JSONWriterTests {
    /// The previous `Value.jsonQuoted`, kept here as the oracle.
    static func referenceQuoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029
                || u.value == 0xFFFE || u.value == 0xFFFF:
                out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static let specials: [Unicode.Scalar] = ["\0", "\u{1}", "\u{1F}", " ", "\"", "\\", "\n", "\r", "\t", "a", "\u{7F}", "\u{80}",
                                             "\u{85}", "\u{9F}", "\u{A0}", "é", "\u{2027}", "\u{2028}", "\u{2029}", "\u{202A}",
                                             "\u{FEFF}", "\u{FFFD}", "\u{FFFE}", "\u{FFFF}", "\u{10000}", "\u{1F600}"]

    @Test func quotingMatchesTheReferenceOnEveryCharacterThatMatters() {
        for a in Self.specials {
            for b in Self.specials {
                let s = "x" + String(a) + String(b) + "y"
                #expect(Value.jsonQuoted(s) == Self.referenceQuoted(s), "\(Array(s.unicodeScalars.map(\.value)))")
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let s = String(String.UnicodeScalarView((0..<Int.random(in: 0...12, using: &rng)).map { _ in Self.specials.randomElement(using: &rng)! }))
            #expect(Value.jsonQuoted(s) == Self.referenceQuoted(s))
        }
    }

    @Test func doublesAreWrittenAsFormatWroteThem() {
        for d in [0.0, -0.0, 1.0, -1.0, 2.0, 1e14, -1e14, 999_999_999_999_999.0, 1e15, 0.5, 2e-4, 1e-5, 123.456, .nan, .infinity] {
            let reference = d.isNaN ? "NaN" : d.isInfinite ? "Infinity" : d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)"
            #expect(Value.format(d) == reference, "\(d)")
        }
    }

    @Test func prettyAndCanonicalShapes() {
        let v = Value.map(["b": .list([.int(1), .map([:]), .list([])]), "a": .map(["z": .null, "é": .bool(true)])])
        #expect(v.canonicalJSON == #"{"a":{"z":null,"é":true},"b":[1,{},[]]}"#)
        #expect(v.canonicalJSONBytes == Array(v.canonicalJSON.utf8))
        #expect(v.prettyJSON == "{\n  \"a\": {\n    \"z\": null,\n    \"é\": true\n  },\n  \"b\": [\n    1,\n    {},\n    []\n  ]\n}\n")
    }
}
