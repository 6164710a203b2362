@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

/// Inputs on which `fuzz/run.sh` found a crash, kept in Tests/Fixtures/fuzz/crashes/ and named
/// after their target. Each must now end in a value or a diagnostic, never a trap.
@Suite struct FuzzRegressionTests {
    static let crashes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz/crashes").path

    static func inputs(_ target: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: crashes)) ?? []).filter { $0.hasPrefix(target + "-") }.sorted()
    }

    @Test func lockfileCrashesAreKept() {
        #expect(!Self.inputs("lockfile").isEmpty, "the fixtures moved: \(Self.crashes)")
    }

    /// What the lockfile target checks: a lockfile anneal wrote reads back to the same facts
    /// and keys. Strings with U+0085, DEL or C1 controls did not, nor map keys with U+2028
    /// or U+2029 (found by the fuzzer).
    @Test(arguments: inputs("lockfile"))
    func lockfileRoundTrips(_ name: String) throws {
        let dir = scratchDir()
        defer { ContentStore.removeTree(dir) }
        guard let lock = try? Lockfile.read(Self.crashes + "/" + name, verifyKeys: false) else { return }
        try lock.write(to: dir + "/p.lock")
        let back = try Lockfile.read(dir + "/p.lock", verifyKeys: true)
        #expect(back.stages == lock.stages)
        #expect(back.name == lock.name)
        #expect(back.encoded() == lock.encoded())
    }

    @Test func memoCrashesAreKept() {
        #expect(!Self.inputs("memo").isEmpty, "the fixtures moved: \(Self.crashes)")
    }

    /// What the memo target checks: a memo anneal wrote reads back to the same bytes. An
    /// escape such as `%25` followed by a combining mark did not: unescaping went by
    /// Characters, where `5` and the mark are one (found by the fuzzer).
    @Test(arguments: inputs("memo"))
    func memoRoundTrips(_ name: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.crashes + "/" + name))
        let memo = try #require(NoOpMemo.parse(Array(bytes)), "the fixture is a sealed memo")
        let written = memo.encoded()
        let again = try #require(NoOpMemo.parse(written))
        #expect(String(decoding: again.encoded(), as: UTF8.self) == String(decoding: written, as: UTF8.self))
        #expect(again.stages.map(\.outputs) == memo.stages.map(\.outputs) && again.params == memo.params)
    }

    @Test func memoEscapesAreUndoneByteForByte() {
        for s in ["%\u{301}", "%25\u{6D9}", "5\u{301}%", ",\u{301}=\u{301}", "%2C\u{301}", "%2", "%", "a\tb\nc\u{0}d", "%zz%0a"] {
            #expect(NoOpMemo.unescape(NoOpMemo.escape(s)) == s, "\(s.unicodeScalars.map(\.value))")
            #expect(NoOpMemo.unescape(NoOpMemo.escapeItem(s)) == s, "\(s.unicodeScalars.map(\.value))")
            #expect(!NoOpMemo.escapeItem(s).utf8.contains { $0 == 0x2C || $0 == 0x3D || $0 == 0x09 || $0 == 0x0A || $0 == 0 })
        }
    }

    @Test func yamlReadsBackEveryStringJSONQuotedWrites() {
        let s = "a\u{85}b\u{2028}c\u{2029}d\u{7F}e\u{9F}f\u{FEFF}g\u{FFFF}h\u{1F600}é\t\"\\"
        let parsed = YAMLParser(file: "t").parse("k: \(Value.jsonQuoted(s))\n")
        #expect(parsed.diagnostics.isEmpty)
        #expect(parsed.root?["k"]?.scalar == s)
        let asKeys = YAMLParser(file: "t").parse("\(Value.jsonQuoted(s)): \(Value.map([s: .int(1)]).canonicalJSON)\n")
        #expect(asKeys.diagnostics.isEmpty)
        #expect(asKeys.root?.value == .map([s: .map([s: .int(1)])]))
        #expect(Value.parseJSON(Value.jsonQuoted(s)) == .string(s), "still JSON")
    }
}
