@testable import AnnealPipeline
import Foundation
import Testing

/// `{file:}` inputs and the symlinks in them: every link a stage would follow must land
/// inside the workspace, and validation says which link does not.
@Suite struct WorkspaceLinkTests {
    /// A workspace `ws/` with `data/real.txt` and `data/dir/a.txt`, next to `outside/secret.txt`.
    struct Fixture {
        let base = NSTemporaryDirectory() + "anneal-links-\(UInt32.random(in: 0...UInt32.max))"
        var ws: String { base + "/ws" }
        var secret: String { base + "/outside/secret.txt" }

        init() {
            for d in ["/ws/data/dir", "/outside"] { try! FileManager.default.createDirectory(atPath: base + d, withIntermediateDirectories: true) }
            for f in ["/ws/data/real.txt", "/ws/data/dir/a.txt", "/outside/secret.txt"] {
                FileManager.default.createFile(atPath: base + f, contents: Data("x\n".utf8))
            }
        }

        func link(_ path: String, to target: String) {
            try! FileManager.default.createSymbolicLink(atPath: ws + "/" + path, withDestinationPath: target)
        }

        func errors(input: String) -> [String] {
            let text = "name: l\nstages:\n  s: {run: x, inputs: {docs: {file: \(input)}}, outputs: [o]}\n"
            do {
                _ = try PipelineLoader(catalog: TestCatalog(), workspace: ws).load(text: text, file: "p.yaml")
                return []
            } catch {
                return error.diagnostics.map(\.description)
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: base) }
    }

    static let hint = "copy the data into the workspace, or link to a file inside it"

    @Test func linksInsideTheWorkspaceAreFine() {
        let f = Fixture()
        defer { f.remove() }
        f.link("data/dir/b.txt", to: "../real.txt")
        f.link("data/alias", to: "dir")
        #expect(f.errors(input: "data/dir") == [])
        #expect(f.errors(input: "data/alias") == [])
        #expect(f.errors(input: "data/dir/b.txt") == [])
    }

    @Test func aLinkOutsideAsTheInputIsNamed() {
        let f = Fixture()
        defer { f.remove() }
        f.link("data/link.txt", to: f.secret)
        #expect(f.errors(input: "data/link.txt") == [
            "p.yaml:3:37: error: input 'docs' of stage 's': symlink data/link.txt points to \(f.secret), outside the workspace; \(Self.hint)",
        ])
    }

    @Test func aLinkOutsideWithinADirectoryInputIsNamed() {
        let f = Fixture()
        defer { f.remove() }
        f.link("data/dir/evil", to: "/etc/passwd")
        let e = f.errors(input: "data")
        #expect(e.count == 1)
        #expect(e.first?.hasPrefix("p.yaml:3:37: error: input 'docs' of stage 's': symlink data/dir/evil points to /") == true)
        #expect(e.first?.contains("outside the workspace") == true)
    }

    /// File names are bytes: a link named `b\xFFc` read as a lossy String would be skipped.
    @Test func aLinkWhoseNameIsNotUTF8IsStillChecked() {
        let f = Fixture()
        defer { f.remove() }
        let path = (Array((f.ws + "/data/dir/b").utf8) + [0xFF, 0x63, 0]).map { CChar(bitPattern: $0) }
        #expect(symlink(f.secret, path) == 0)
        let e = f.errors(input: "data")
        #expect(e.count == 1)
        #expect(e.first?.contains("symlink data/dir/b\u{FFFD}c points to \(f.secret), outside the workspace") == true, "\(e)")
    }

    @Test func aLinkedDirectoryOnTheWayDanglingLinksAndLoops() {
        let f = Fixture()
        defer { f.remove() }
        f.link("data/ext", to: f.base + "/outside")
        #expect(f.errors(input: "data/ext/secret.txt") == [
            "p.yaml:3:37: error: input 'docs' of stage 's': symlink data/ext points to \(f.base)/outside, outside the workspace; \(Self.hint)",
        ])
        try? FileManager.default.removeItem(atPath: f.ws + "/data/ext")
        f.link("data/dir/gone", to: "nowhere.txt")
        #expect(f.errors(input: "data/dir") == [
            "p.yaml:3:37: error: input 'docs' of stage 's': symlink data/dir/gone points to nowhere.txt, which does not exist; \(Self.hint)",
        ])
        try? FileManager.default.removeItem(atPath: f.ws + "/data/dir/gone")
        f.link("data/dir/up", to: "..")
        #expect(f.errors(input: "data") == [
            "p.yaml:3:37: error: input 'docs' of stage 's': symlink data/dir/up points to a directory that contains it; \(Self.hint)",
        ])
    }
}
