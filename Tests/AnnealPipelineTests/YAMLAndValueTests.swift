@testable import AnnealPipeline
import Testing

@Suite struct YAMLAndValueTests {
    @Test func plainScalarsResolveByTheCoreSchema() {
        let r = YAMLParser(file: "v.yaml").parse("a: 1\nb: 2.5\nc: true\nd: ~\ne: '7'\nf: 1e-4\ng: hello\nh: -3\ni: 0x1F\nj: .inf\n")
        #expect(r.root?.value == .map([
            "a": .int(1), "b": .double(2.5), "c": .bool(true), "d": .null, "e": .string("7"), "f": .double(1e-4),
            "g": .string("hello"), "h": .int(-3), "i": .int(31), "j": .double(.infinity),
        ]))
    }

    @Test func marksAreOneBased() throws {
        let r = YAMLParser(file: "m.yaml").parse("top:\n  inner: [x, y]\n")
        let inner = try #require(r.root?["top"]?["inner"])
        #expect(inner.mark == SourceMark(file: "m.yaml", line: 2, column: 10))
        #expect(inner.items?[1].mark.column == 14)
    }

    @Test func duplicateKeysAndSyntaxErrors() {
        #expect(YAMLParser(file: "d.yaml").parse("a: 1\nb: 2\na: 3\n").diagnostics.map(\.description) == [
            "d.yaml:3:1: error: duplicate key 'a' (first defined at line 1)",
        ])
        #expect(YAMLParser(file: "s.yaml").parse("a: [1, 2\n").diagnostics.map(\.description) == [
            "s.yaml:2:1: error: YAML syntax: while parsing a flow sequence: did not find expected ',' or ']'",
        ])
        #expect(YAMLParser(file: "t.yaml").parse("a: 1\n---\nb: 2\n").diagnostics.first?.message == "a pipeline file holds one YAML document; found a second one here")
    }

    @Test func aliasesExpandWithinABudget() {
        let ok = YAMLParser(file: "a.yaml").parse("base: &b {x: 1}\nuse: *b\n")
        #expect(ok.root?["use"]?.value == .map(["x": .int(1)]))
        var bomb = "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n"
        for i in 1...6 { bomb += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let r = YAMLParser(file: "b.yaml").parse(bomb)
        #expect(r.root == nil)
        #expect(r.diagnostics.first?.message.hasPrefix("aliases expand to more than 100000 nodes") == true)
    }

    @Test func renderedDiagnosticShowsLineAndCaret() {
        let d = Diagnostic(SourceMark(file: "p.yaml", line: 2, column: 5), "bad thing", hint: "did you mean 'x'?")
        #expect(d.rendered(source: "a: 1\nb:  oops\n") == "p.yaml:2:5: error: bad thing; did you mean 'x'?\n 2 | b:  oops\n   |     ^")
    }

    @Test func canonicalJSONSortsKeysAndRoundTrips() throws {
        let v = Value.map(["b": .list([.int(1), .double(0.5), .null]), "a": .string("q\"\n\u{1}"), "c": .bool(false), "d": .double(2)])
        #expect(v.canonicalJSON == #"{"a":"q\"\n\u0001","b":[1,0.5,null],"c":false,"d":2.0}"#)
        #expect(Value.parseJSON(v.canonicalJSON) == v)
        #expect(Value.parseJSON(#"{"x": 1e-3, "y": "\u00e9\ud83d\ude00", "z": [true]}"#) == .map(["x": .double(0.001), "y": .string("é😀"), "z": .list([.bool(true)])]))
        #expect(Value.parseJSON("{\"a\": 1,}") == nil)
        #expect(Value.parseJSON("[1] x") == nil)
    }

    @Test func editDistanceCountsTranspositionsOnce() {
        #expect(editDistance("tokenize", "tokneize") == 1)
        #expect(editDistance("kitten", "sitting") == 3)
        #expect(closestMatch(to: "pretrian", in: ["pretrain", "sft"]) == "pretrain")
        #expect(closestMatch(to: "zzz", in: ["pretrain", "sft"]) == nil)
    }
}
