import Foundation
import Testing

/// Symlinks in `{file:}` inputs, through the real binary: hashed by what they point to, and
/// refused when they lead out of the workspace, at validation and again when a stage starts.
@Suite struct SymlinkInputTests {
    static let pipeline = """
        name: links
        stages:
          count:
            run: sh -c 'cat ${inputs.docs}/* | wc -c > ${outputs.n}/n'
            inputs: {docs: {file: data}}
            outputs: [n]

        """

    @Test func editingALinksTargetRerunsTheStage() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline)
        s.write("corpus/real.txt", "one\n")
        try! FileManager.default.createDirectory(atPath: s.dir + "/data", withIntermediateDirectories: true)
        try! FileManager.default.createSymbolicLink(atPath: s.dir + "/data/a.txt", withDestinationPath: "../corpus/real.txt")
        #expect(s.run().statuses == ["count": "ran"])
        #expect(s.run().statuses == ["count": "cached"])
        s.write("corpus/real.txt", "one two\n")
        let again = s.run()
        #expect(again.statuses == ["count": "ran"])
        #expect(again.reasons("count") == ["input docs changed"])
    }

    @Test func aLinkToEtcPasswdIsAnInvalidPipeline() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline)
        s.write("data/ok.txt", "ok\n")
        try! FileManager.default.createSymbolicLink(atPath: s.dir + "/data/evil", withDestinationPath: "/etc/passwd")
        let v = s.anneal("validate", "p.yaml")
        #expect(v.code == 2)
        #expect(v.stderr.contains("p.yaml:5:27: error: input 'docs' of stage 'count': symlink data/evil points to /"))
        #expect(v.stderr.contains("outside the workspace"))
        let r = s.anneal("run", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("symlink data/evil points to /"))

        // The same link as the input itself.
        s.write("q.yaml", Self.pipeline.replacingOccurrences(of: "{file: data}", with: "{file: data/evil}"))
        let q = s.anneal("validate", "q.yaml")
        #expect(q.code == 2)
        #expect(q.stderr.contains("symlink data/evil points to /"))
    }

    /// `swap` runs first and holds the only core, so `count` is hashed while `swap` runs and
    /// starts after it: the link it swapped in must fail `count`, not be read.
    @Test func aLinkSwappedInBeforeTheStageStartsFailsIt() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: swap
            stages:
              swap:
                run: sh -c 'sleep 0.5; rm data/a.txt; ln -s /etc/passwd data/a.txt; echo > ${outputs.o}/x'
                outputs: [o]
              count:
                run: sh -c 'cat ${inputs.docs}/* > ${outputs.n}/all'
                inputs: {docs: {file: data}}
                outputs: [n]

            """)
        s.write("data/a.txt", "mine\n")
        let r = s.run("p.yaml", ["--jobs", "1", "--keep-going"], code: 1)
        #expect(r.statuses == ["swap": "ran", "count": "failed"])
        let stages = r.json?["stages"]?.listValue ?? []
        let error = stages.first { $0["name"]?.stringValue == "count" }?["error"]?.stringValue ?? ""
        #expect(error.contains("input 'docs' of stage 'count': symlink data/a.txt points to /"), "\(error)")
        #expect(error.contains("outside the workspace"))
    }
}
