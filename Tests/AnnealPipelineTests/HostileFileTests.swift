@testable import AnnealPipeline
import Foundation
import Testing

/// Files written to break the reader: each gets a located error, never a crash.
@Suite struct HostileFileTests {
    let stage = "stages:\n  a: {run: x, outputs: [o]}\n"

    @Test func deepFlowNestingIsRefusedAtItsColumn() {
        let deep = "name: d\nx: " + String(repeating: "[", count: 20_000) + "\n" + stage
        #expect(errors(deep) == ["p.yaml:2:259: error: nesting deeper than 256; flatten the structure; anneal reads at most 256 levels of lists and mappings"])
        let maps = "name: d\nx: " + String(repeating: "{a: ", count: 20_000) + "\n" + stage
        #expect(errors(maps).first?.hasPrefix("p.yaml:2:") == true)
        #expect(errors(maps).first?.contains("nesting deeper than 256") == true)
    }

    @Test func deepBlockNestingIsRefused() {
        var text = "name: d\nparams:\n"
        for i in 0..<300 { text += String(repeating: " ", count: 2 * i + 2) + "k:\n" }
        text += String(repeating: " ", count: 602) + "v\n" + stage
        #expect(errors(text).first?.contains("nesting deeper than 256") == true)
    }

    @Test func nestingAtTheLimitIsRead() throws {
        // The 256 levels include the top-level mapping.
        let ok = "name: d\nparams: {x: " + String(repeating: "[", count: 254) + String(repeating: "]", count: 254) + "}\n" + stage
        #expect(errors(ok) == [])
    }

    @Test func anAliasCannotGraftPastTheLimit() {
        let anchor = "name: d\nbase: &b " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"
        let use = "deep: " + String(repeating: "[", count: 100) + "*b" + String(repeating: "]", count: 100) + "\n"
        let r = YAMLParser(file: "g.yaml").parse(anchor + use)
        #expect(r.root == nil)
        #expect(r.diagnostics.map(\.message) == ["nesting deeper than 256"])
    }

    @Test func deepSetValuesAndKeysAreRefused() {
        let base = "name: d\nparams: {x: 1}\n" + stage
        let deep = "params.x=" + String(repeating: "[", count: 20_000)
        #expect(errors(base, overrides: [deep]).first?.contains("nesting deeper than 256") == true)
        let longKey = "params." + Array(repeating: "a", count: 20_000).joined(separator: ".") + "=1"
        #expect(errors(base, overrides: [longKey]).first?.contains("nests deeper than 256") == true)
    }

    @Test func deepJSONIsNotParsed() {
        let depth = 300
        #expect(Value.parseJSON(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)) == nil)
        #expect(Value.parseJSON(String(repeating: "{\"a\":", count: 20_000)) == nil)
        #expect(Value.parseJSON(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)) != nil)
    }

    @Test func aliasesCountExpandedBytes() {
        let big = String(repeating: "x", count: 1 << 20)
        let text = "a: &a \"\(big)\"\nb: [" + Array(repeating: "*a", count: 70).joined(separator: ", ") + "]\n"
        let r = YAMLParser(file: "b.yaml").parse(text)
        #expect(r.root == nil)
        #expect(r.diagnostics.first?.description.hasPrefix("b.yaml:2:") == true)
        #expect(r.diagnostics.first?.message.hasPrefix("aliases expand to more than 64 MiB of text") == true)
        let fine = YAMLParser(file: "b.yaml").parse("a: &a \"\(big)\"\nb: [*a, *a]\n")
        #expect(fine.diagnostics.isEmpty)
    }

    @Test func badBytesAreReportedAtTheirLineAndColumn() {
        let parser = YAMLParser(file: "u.yaml")
        let cases: [([UInt8], String)] = [
            (Array("name: a\nx: é".utf8) + [0xFF] + Array("\n".utf8), "u.yaml:2:5: error: invalid UTF-8 (byte 0xFF); save the file as UTF-8"),
            (Array("a: 1\n  b".utf8) + [0x00], "u.yaml:2:4: error: NUL byte in the file; a text file holds no NUL bytes; is this a binary file?"),
            (Array("a: \"x".utf8) + [0x07] + Array("\"\n".utf8), #"u.yaml:1:6: error: control character U+0007 is not allowed in YAML; write it as an escape in a double-quoted string, e.g. "\u0007""#),
            (Array("a: ".utf8) + [0xED, 0xA0, 0x80], "u.yaml:1:4: error: invalid UTF-8 (byte 0xED); save the file as UTF-8"),
            (Array("a: 1\rb: 2\r\nc: ".utf8) + [0x7F], "u.yaml:3:4: error: control character U+007F is not allowed in YAML; write it as an escape in a double-quoted string, e.g. \"\\u007F\""),
            (Array("a: ".utf8) + [0xC2, 0x9B], "u.yaml:1:4: error: control character U+009B is not allowed in YAML; write it as an escape in a double-quoted string, e.g. \"\\u009B\""),
        ]
        for (bytes, expected) in cases {
            let r = parser.parse(bytes: bytes)
            #expect(r.root == nil)
            #expect(r.diagnostics.map(\.description) == [expected])
        }
        #expect(parser.parse(bytes: Array("a: \"tab\there é ✓ 😀\"\r\n".utf8)).diagnostics.isEmpty)
    }

    @Test func aPipelineFileWithBadBytesGetsALocation() throws {
        let dir = NSTemporaryDirectory() + "anneal-badbytes-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/p.yaml"
        try Data(Array("name: n\nstages:\n  a: {run: \"x".utf8) + [0xC3, 0x28] + Array("\", outputs: [o]}\n".utf8)).write(to: URL(fileURLWithPath: file))
        do {
            _ = try PipelineLoader(catalog: TestCatalog(), workspace: dir).load(file: file)
            Issue.record("a file with invalid UTF-8 loaded")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["\(file):3:14: error: invalid UTF-8 (byte 0xC3); save the file as UTF-8"])
        }
    }
}

/// Numbers the runner computes with are bounded when the file is validated.
@Suite struct NumericBoundsTests {
    @Test func threadsAreBounded() {
        for t in ["9223372036854775807", "4097", "0", "-1", "2.5"] {
            #expect(errors("name: n\nstages:\n  a: {run: x, outputs: [o], threads: \(t)}\n") == [
                "p.yaml:3:38: error: 'threads' must be an integer in 1...4096, found \(t)",
            ])
        }
        #expect(errors("name: n\nstages:\n  a: {run: x, outputs: [o], threads: 4096}\n") == [])
    }

    @Test func seedsMustFitInSixtyFourBits() {
        #expect(errors("name: n\nseed: 99999999999999999999\nstages:\n  a: {run: x, outputs: [o]}\n") == [
            "p.yaml:2:7: error: 'seed' must fit in a 64-bit signed integer (-9223372036854775808...9223372036854775807), found 99999999999999999999",
        ])
        #expect(errors("name: n\nstages:\n  a: {run: x, outputs: [o], seed: -99999999999999999999}\n").first?.contains("must fit in a 64-bit") == true)
        #expect(errors("name: n\nseed: 9223372036854775807\nstages:\n  a: {run: x, outputs: [o], seed: -9223372036854775808}\n") == [])
        #expect(errors("name: n\nseed: 1e300\nstages:\n  a: {run: x, outputs: [o]}\n") == ["p.yaml:2:7: error: 'seed' must be an integer, found float"])
    }
}

/// Two names of a stage that would be passed as one environment variable.
@Suite struct EnvironmentNameTests {
    @Test func clashingInputsAndOutputsAreErrors() {
        let text = """
            name: n
            stages:
              a: {run: x, outputs: [docs, DOCS, a-b, a_b]}
              b: {run: x, inputs: {x-y: a.docs, x_y: a.a-b}, outputs: [o]}

            """
        #expect(errors(text) == [
            "p.yaml:3:31: error: output 'DOCS' of stage 'a' and output 'docs' would both be passed as ANNEAL_OUTPUT_DOCS; rename one of them",
            "p.yaml:3:42: error: output 'a_b' of stage 'a' and output 'a-b' would both be passed as ANNEAL_OUTPUT_A_B; rename one of them",
            "p.yaml:4:42: error: input 'x_y' of stage 'b' and input 'x-y' would both be passed as ANNEAL_INPUT_X_Y; rename one of them",
        ])
        #expect(EnvironmentName.of("a-b.c") == "A_B_C")
    }
}

/// Declared bounds of a stage's numeric parameters are checked at validation.
@Suite struct ParameterRangeTests {
    struct Bounded: StageCatalog {
        static let kind = StageSchema(name: "bounded", version: "1", inputs: [], outputs: ["o"], params: [
            ParamSpec("n", .int, default: .int(1), range: 1...1_024),
            ParamSpec("share", .float, default: .double(0.5), range: 0...0.9),
        ])
        func schema(named name: String) -> StageSchema? { name == "bounded" ? Self.kind : nil }
        var stageNames: [String] { ["bounded"] }
    }

    func errors(_ with: String) -> [String] {
        do {
            _ = try PipelineLoader(catalog: Bounded(), workspace: "/tmp")
                .load(text: "name: r\nstages:\n  s: {uses: bounded, with: \(with)}\n", file: "p.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func valuesOutsideTheRangeAreErrors() {
        #expect(errors("{n: 9223372036854775807, share: 1e300}") == [
            "p.yaml:3:32: error: parameter 'with.n' of stage 's' must be in 1...1024, found 9223372036854775807",
            "p.yaml:3:60: error: parameter 'with.share' of stage 's' must be in 0.0...0.9, found 1e+300",
        ])
        #expect(errors("{share: .nan}") == ["p.yaml:3:36: error: parameter 'with.share' of stage 's' must be in 0.0...0.9, found NaN"])
        #expect(errors("{n: 1024, share: 0}") == [])
    }
}
