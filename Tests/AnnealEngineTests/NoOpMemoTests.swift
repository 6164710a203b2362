@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

/// The no-op memo's file format: what it keeps comes back exactly, and anything but a whole,
/// intact memo is refused (the run then decides the slow way).
@Suite struct NoOpMemoTests {
    static let digest = String(repeating: "ab", count: 32)
    static let other = String(repeating: "0f", count: 32)

    static var sample: NoOpMemo {
        let state = Ledger.FileState(device: 2049, inode: 123_456, size: 42, mtimeNs: 1_764_000_000_123_456_789)
        return NoOpMemo(
            identity: "/w\u{0}pipelines/p.yaml\u{0}/w/cache\u{0}stages.a.with.x=1,2", pipelineDigest: digest, lockDigest: other,
            lockfile: "/w/pipelines/p.lock", executable: state, fingerprint: #"{"arch":"x86_64","cores":2}"#, executor: nil,
            params: #"{"a":"tab\there, newline\nand %25"}"#,
            inputs: [.init(path: "/w/data/in put.txt", state: .init(device: 1, inode: 2, size: 3, mtimeNs: -4))],
            stages: [
                .init(name: "gen", key: digest, entry: state, outputs: ["nums": OutputFact(digest: other, size: 7)],
                      metrics: ["loss": 0.1 + 0.2, "odd,name=x": -.infinity, "nan": .nan]),
                .init(name: "sweep[lr=0.1]", key: other, entry: state, outputs: [:], metrics: [:]),
            ],
            summaries: [.init(stage: "eval", file: "report/summary.md", path: "/w/cache/objects/ab/\(digest)/summary.md")])
    }

    @Test func whatIsWrittenIsReadBackExactly() throws {
        let memo = Self.sample
        let back = try #require(NoOpMemo.parse(memo.encoded()))
        #expect(back.identity == memo.identity && back.params == memo.params && back.inputs == memo.inputs)
        #expect(back.stages.map(\.name) == ["gen", "sweep[lr=0.1]"] && back.stages[1].outputs.isEmpty)
        #expect(back.stages[0].outputs == memo.stages[0].outputs && back.stages[0].entry == memo.stages[0].entry)
        // Metrics by their bits: 0.30000000000000004 stays itself, NaN stays NaN.
        #expect(back.stages[0].metrics["loss"]?.bitPattern == (0.1 + 0.2).bitPattern)
        #expect(back.stages[0].metrics["odd,name=x"] == -.infinity && back.stages[0].metrics["nan"]?.isNaN == true)
        #expect(back.summaries == memo.summaries && back.lockDigest == memo.lockDigest && back.executor == nil)
        #expect(back.encoded() == memo.encoded())
    }

    @Test func aDamagedOrForeignMemoIsRefused() throws {
        let bytes = Self.sample.encoded()
        #expect(NoOpMemo.parse(bytes) != nil)
        // Every truncation, and a flipped byte anywhere, fails the header or the checksum.
        for cut in stride(from: 0, to: bytes.count, by: 7) { #expect(NoOpMemo.parse(Array(bytes[..<cut])) == nil) }
        for i in stride(from: 0, to: bytes.count, by: 5) {
            var b = bytes
            b[i] ^= 0x20
            #expect(NoOpMemo.parse(b) == nil, "byte \(i) flipped was accepted")
        }
        // A body with a valid checksum but a bad record: a key that is not a digest (it would
        // become a path in the store), a duplicated header field, a line after `end`.
        func resealed(_ edit: (String) -> String) -> [UInt8] {
            let text = String(decoding: bytes, as: UTF8.self)
            let body = edit(String(text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)[2]))
            return Array("\(NoOpMemo.header)\nsum\t\(Digest.of(Array(body.utf8)))\n\(body)".utf8)
        }
        #expect(NoOpMemo.parse(resealed { $0 }) != nil)
        #expect(NoOpMemo.parse(resealed { $0.replacingOccurrences(of: "\t\(Self.digest)\t2049", with: "\t../../etc/passwd\t2049") }) == nil)
        #expect(NoOpMemo.parse(resealed { "pipeline\t\(Self.digest)\n" + $0 }) == nil)
        #expect(NoOpMemo.parse(resealed { $0 + "stage\tx\n" }) == nil)
        #expect(NoOpMemo.parse(resealed { $0.replacingOccurrences(of: "\nend\n", with: "\n") }) == nil)
        #expect(NoOpMemo.parse(resealed { $0.replacingOccurrences(of: "\t2049\t", with: "\t99999999999999999999999\t") }) == nil)
    }

    @Test func theMemoIsOnlyReadForItsOwnIdentity() throws {
        let root = scratchDir()
        defer { ContentStore.removeTree(root) }
        let store = ContentStore(root: root + "/cache")
        try store.prepare()
        let memo = Self.sample
        memo.write(store: store)
        #expect(NoOpMemo.load(store: store, identity: memo.identity)?.encoded() == memo.encoded())
        #expect(NoOpMemo.load(store: store, identity: memo.identity + "x") == nil)
        // Planted under the name of another identity, it is not that identity's memo.
        let foreign = NoOpMemo.identity(workspace: "/w", pipeline: "other.yaml", overrides: [], cache: "/w/cache")
        try FileManager.default.copyItem(atPath: NoOpMemo.path(store: store, identity: memo.identity),
                                         toPath: NoOpMemo.path(store: store, identity: foreign))
        #expect(NoOpMemo.load(store: store, identity: foreign) == nil)
        NoOpMemo.remove(store: store, identity: memo.identity)
        #expect(NoOpMemo.load(store: store, identity: memo.identity) == nil)
    }

    @Test func runIDsKeepTheirFormat() {
        let id = makeRunID(date: Date(timeIntervalSince1970: 1_764_619_205.9))
        #expect(id.hasPrefix("20251201-200005-") && id.count == 20)
        let suffix = id.suffix(4)
        #expect(suffix.allSatisfy { "0123456789abcdef".contains($0) })
    }
}
