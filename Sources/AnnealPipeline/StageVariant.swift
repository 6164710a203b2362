/// One variant of a sweep: which stage declared the `matrix:`, and the value this variant
/// takes for each of its keys.
///
/// Naming: `STAGE@KEY=VALUE,KEY=VALUE` with the keys in the order the matrix lists them and
/// each value as written in the file (`1e-4` stays `1e-4`, a quoted string is its text).
/// Every character of a value outside `A-Z a-z 0-9 _ . + -` is percent-encoded from its
/// UTF-8 bytes (`a/b` → `a%2Fb`, `%` → `%25`), so a name is a safe file name and `@`, `=`
/// and `,` only ever separate. A stage expanded along a sweep takes its variants' suffixes.
public struct StageVariant: Sendable, Hashable {
    public struct Assignment: Sendable, Hashable {
        /// As written in the matrix: `learning_rate`, `lora.rank` (under `with`), `params.width`.
        public var key: String
        public var value: Value
        /// The value as it stands in the variant's name (escaped).
        public var text: String

        public init(key: String, value: Value, text: String) {
            self.key = key
            self.value = value
            self.text = text
        }
    }

    /// The stage as written in the file (`sft`, or `eval` for `eval@…` expanded along `sft`).
    public var base: String
    /// The stage whose `matrix:` made the variants.
    public var sweep: String
    /// Position in the sweep's order: the first key varies slowest, as in nested loops.
    public var index: Int
    public var assignments: [Assignment]

    public init(base: String, sweep: String, index: Int, assignments: [Assignment]) {
        self.base = base
        self.sweep = sweep
        self.index = index
        self.assignments = assignments
    }

    /// `learning_rate=1e-4,lora_rank=8`.
    public var suffix: String { assignments.map { "\($0.key)=\($0.text)" }.joined(separator: ",") }

    public var name: String { "\(base)@\(suffix)" }

    /// A value's text as it stands in a variant name.
    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

extension InputSpec {
    /// `models[2]` for the third member of list input `models`.
    public static func memberName(_ list: String, _ index: Int) -> String { "\(list)[\(index)]" }
}

extension StageSpec {
    /// List inputs (`models: sft.model[*]`) by name, each with its member inputs' names in order.
    public var inputLists: [String: [String]] {
        var out: [String: [String]] = [:]
        for i in inputs { if let list = i.list { out[list, default: []].append(i.name) } }
        return out
    }

    /// The name the stage has in the file: `sft` for `sft@lr=1e-4`.
    public var baseName: String { variant?.base ?? name }
}
