import Foundation
import Testing

/// An invalid plugin manifest is never silently left out: `anneal stages` lists it with its
/// errors, and a pipeline that uses it is invalid, both with the manifest's file:line:col.
@Suite struct PluginManifestTests {
    func sandbox(_ name: String = #function) -> Sandbox {
        let s = Sandbox(name)
        s.write("stages/good/stage.yaml", "version: 1\ncommand: true\noutputs: [o]\n")
        s.write("stages/bad/stage.yaml", "version: 1\ncommand: true\noutputs: [o]\nparams:\n  n: {type: int, default: fast}\n")
        return s
    }

    static let location = "stages/bad/stage.yaml:5:27: error: default 'fast' of parameter 'n' is a string, not an int"

    @Test func stagesListsAnInvalidPluginAndFails() {
        let s = sandbox()
        defer { s.remove() }
        let text = s.anneal("stages")
        #expect(text.code == 2)
        #expect(text.stdout.contains("good (version 1, plugin stages/good)"))
        #expect(text.stdout.contains("bad (invalid plugin"))
        #expect(text.stderr.contains(Self.location))
        let json = s.anneal("stages", "--json")
        #expect(json.code == 2)
        #expect(json.json?["invalid"]?.listValue?.first?["name"]?.stringValue == "bad")
        #expect(json.json?["invalid"]?.listValue?.first?["errors"]?.listValue?.first?.stringValue == Self.location)
        #expect(json.json?["stages"]?.listValue?.contains { $0["name"]?.stringValue == "good" } == true)
        let one = s.anneal("stages", "bad")
        #expect(one.code == 2)
        #expect(one.stderr.contains(Self.location))
        #expect(s.anneal("stages", "good").code == 0, "describing a valid kind is not an error")
    }

    @Test func aPipelineUsingAPluginWithABadDefaultIsInvalid() {
        let s = sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: b\nstages:\n  a: {uses: bad}\n  b: {uses: good}\n")
        let r = s.anneal("validate", "p.yaml")
        #expect(r.code == 2)
        #expect(r.stderr.contains("p.yaml:3:13: error: stage kind 'bad' of stage 'a' has an invalid manifest (errors follow)"))
        #expect(r.stderr.contains(Self.location))
        s.write("q.yaml", "name: g\nstages:\n  b: {uses: good}\n")
        #expect(s.anneal("validate", "q.yaml").code == 0, "an invalid plugin no pipeline uses does not stop validation")
    }
}
