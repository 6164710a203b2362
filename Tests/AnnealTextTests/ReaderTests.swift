import Foundation
import Testing
@testable import AnnealText

/// A scratch directory removed when the value goes away.
final class Scratch {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("anneal-text-\(UUID().uuidString)")
    init() { try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func file(_ name: String, _ content: String) -> URL { file(name, Data(content.utf8)) }

    @discardableResult
    func file(_ name: String, _ bytes: Data) -> URL {
        let target = url.appendingPathComponent(name)
        try! FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! bytes.write(to: target)
        return target
    }
}

@Suite struct ReaderTests {
    @Test func jsonlWithConfigurableFieldKeepsRawLine() throws {
        let s = Scratch()
        let f = s.file("a.jsonl", "{\"body\": \"one\", \"n\": 1}\r\n\n{\"body\":\"two\"}")
        let docs = try DocumentReader(url: f, format: .jsonl(field: "body")).readAll()
        #expect(docs.map(\.text) == ["one", "two"])
        #expect(docs.map(\.line) == [1, 3])
        #expect(docs[0].raw == "{\"body\": \"one\", \"n\": 1}")
        #expect(try docs[0].jsonLine(field: "body") == docs[0].raw)
        let changed = try docs[0].jsonLine(field: "body", text: "ONE")
        #expect(changed == "{\"body\":\"ONE\",\"n\":1}")
    }

    @Test func badJSONNamesFileAndLine() throws {
        let s = Scratch()
        let f = s.file("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": oops}\n")
        let error = #expect(throws: TextError.self) { try DocumentReader(url: f, format: .jsonl(field: "text")).readAll() }
        #expect(error?.code == .badLine)
        #expect(error?.description.hasPrefix("\(f.path):2: error: invalid JSON") == true)
    }

    @Test func missingFieldListsTheFieldsThatExist() throws {
        let s = Scratch()
        let f = s.file("m.jsonl", "{\"content\": \"x\", \"id\": 3}\n")
        let error = #expect(throws: TextError.self) { try DocumentReader(url: f, format: .jsonl(field: "text")).readAll() }
        #expect(error?.description == "\(f.path):1: error: no string field 'text' (fields: content, id)")
    }

    @Test func invalidUTF8AndEmptyInputAreClear() throws {
        let s = Scratch()
        var bytes = Data("{\"text\": \"fine\"}\n{\"text\": \"".utf8)
        bytes.append(contentsOf: [0xC3, 0x28])
        bytes.append(contentsOf: Array("\"}\n".utf8))
        let f = s.file("u.jsonl", bytes)
        let error = #expect(throws: TextError.self) { try DocumentReader(url: f, format: .jsonl(field: "text")).readAll() }
        #expect(error?.code == .invalidUTF8 && error?.line == 2)
        let empty = s.file("e.jsonl", "\n  \n")
        let emptyError = #expect(throws: TextError.self) { try DocumentReader(url: empty, format: .jsonl(field: "text")).readAll() }
        #expect(emptyError?.code == .emptyInput)
        let missing = #expect(throws: TextError.self) {
            try DocumentReader(url: s.url.appendingPathComponent("nope.txt"), format: .text(split: .file)).readAll()
        }
        #expect(missing?.description.hasSuffix("nope.txt: error: no such file or directory") == true)
    }

    @Test func plainTextFilesAndDirectories() throws {
        let s = Scratch()
        s.file("dir/b.txt", "third\n")
        s.file("dir/a.txt", "first para\nstill first\n\n\nsecond\n")
        s.file("dir/.hidden", "skip me")
        let dir = s.url.appendingPathComponent("dir")
        #expect(try DocumentReader(url: dir, format: .text(split: .paragraph)).readAll().map(\.text)
                == ["first para\nstill first", "second", "third"])
        #expect(try DocumentReader(url: dir, format: .text(split: .line)).readAll().count == 4)
        #expect(try DocumentReader(url: dir, format: .text(split: .file)).readAll().count == 2)
    }

    @Test func longFileStreamsAcrossChunks() throws {
        let s = Scratch()
        let lines = (0..<5000).map { "{\"text\": \"document number \($0) ünïcödé\"}" }
        let f = s.file("big.jsonl", lines.joined(separator: "\n"))
        var reader = LineReader(url: f)
        reader.chunkSize = 1000 // forces lines to straddle chunk boundaries
        var seen = 0
        try reader.forEachLine { line, number in
            #expect(line == lines[number - 1])
            seen += 1
        }
        #expect(seen == 5000)
    }

    @Test func alpacaArrayAndJSONL() throws {
        let s = Scratch()
        let array = s.file("alpaca.json", """
        [{"instruction": "Add", "input": "2 and 3", "output": "5"}, {"instruction": "Hi", "output": "Hello"}]
        """)
        var got: [Conversation] = []
        try ChatReader(url: array, format: .alpaca).forEach { got.append($0) }
        #expect(got.map { $0.messages.map(\.content) } == [["Add\n\n2 and 3", "5"], ["Hi", "Hello"]])
        let lines = s.file("alpaca.jsonl", "{\"instruction\": \"Hi\"}\n")
        let error = #expect(throws: TextError.self) { try ChatReader(url: lines, format: .alpaca).forEach { _ in } }
        #expect(error?.description == "\(lines.path):1: error: alpaca: missing string field 'output'")
    }

    @Test func sharegptBothShapes() throws {
        let s = Scratch()
        let f = s.file("c.jsonl", """
        {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]}
        {"conversations": [{"from": "robot", "value": "?"}]}
        """)
        var roles: [[String]] = []
        let error = #expect(throws: TextError.self) {
            try ChatReader(url: f, format: .sharegpt).forEach { roles.append($0.messages.map(\.role)) }
        }
        #expect(roles == [["user", "assistant"], ["system", "user", "assistant"]])
        #expect(error?.line == 3)
    }

    @Test func preferencePairs() throws {
        let s = Scratch()
        let f = s.file("p.jsonl", "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"}\n{\"prompt\": \"p\", \"chosen\": \"c\"}\n")
        var pairs: [PreferenceRecord] = []
        let error = #expect(throws: TextError.self) { try PreferenceReader(url: f).forEach { pairs.append($0) } }
        #expect(pairs.count == 1 && pairs[0].rejected == "r")
        #expect(error?.description == "\(f.path):2: error: preferences: missing string field 'rejected'")

        let k = s.file("k.jsonl", "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\", \"kind\": \"rude\"}\n{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\", \"kind\": 3}\n")
        var kinds: [String?] = []
        let bad = #expect(throws: TextError.self) { try PreferenceReader(url: k).forEach { kinds.append($0.kind) } }
        #expect(kinds == ["rude"] && pairs[0].kind == nil)
        #expect(bad?.description == "\(k.path):2: error: preferences: field 'kind' must be a string")
    }
}
