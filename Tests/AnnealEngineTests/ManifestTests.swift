@testable import AnnealEngine
import AnnealPipeline
import Foundation
import Testing

/// Plugin manifests: defaults obey their own declarations, and an invalid manifest says
/// where it is wrong.
@Suite struct ManifestTests {
    func errors(_ params: String) -> [String] {
        let text = "version: 1\ncommand: sh run.sh\noutputs: [o]\nparams:\n" + params
        switch PluginManifest.parse(text, file: "stages/p/stage.yaml", directoryName: "p") {
        case .success: return []
        case .failure(let e): return e.diagnostics.map(\.description)
        }
    }

    /// A workspace file named `` b `touch X`.txt `` given to `` sh -c "echo `cat ${inputs.d}`" ``
    /// ran `touch`: no quoting keeps a value literal inside backquotes or a here-document.
    @Test func tokensInBackquotesOrHereDocumentsAreErrors() {
        for command in [#"'sh -c "echo `cat ${inputs.d}` > ${outputs.o}/x"'"#, "|\n  cat > ${outputs.o}/x <<E\n  ${plugin}\n  E\n"] {
            let text = "version: 1\ncommand: \(command)\ninputs: [d]\noutputs: [o]\n"
            guard case .failure(let e) = PluginManifest.parse(text, file: "stages/p/stage.yaml", directoryName: "p") else {
                Issue.record("accepted: \(command)")
                continue
            }
            #expect(e.diagnostics.count == 1 && e.diagnostics[0].description.contains("stages/p/stage.yaml:2:"), "\(e.diagnostics)")
        }
        let fine = "version: 1\ncommand: 'sh -c \"echo \\\"$(cat ${inputs.d})\\\" > ${outputs.o}/x\"'\ninputs: [d]\noutputs: [o]\n"
        guard case .success = PluginManifest.parse(fine, file: "m.yaml", directoryName: "p") else { Issue.record("\"$(…)\" refused"); return }
    }

    @Test func defaultsAreCheckedAgainstTheirTypeAndAllowedValues() {
        #expect(errors("  n: {type: int, default: fast}\n  m: {type: string, default: c, allowed: [a, b]}\n  f: {type: float, default: [1]}\n") == [
            "stages/p/stage.yaml:5:27: error: default 'fast' of parameter 'n' is a string, not an int",
            "stages/p/stage.yaml:6:30: error: default 'c' of parameter 'm' is not one of its allowed values a, b",
            "stages/p/stage.yaml:7:29: error: default '[1]' of parameter 'f' is a list, not a float",
        ])
    }

    @Test func declarationsThemselvesAreChecked() {
        #expect(errors("  a: {type: [int]}\n  b: {type: int, allowed: [1, two]}\n  c: {type: int, required: yes}\n  d: {type: int, required: true, default: 1}\n  e: {type: list, fields: {x: {type: int}}}\n  g: {type: map, fields: {x: {type: int, default: 1}}, default: {x: 2}}\n") == [
            "stages/p/stage.yaml:5:13: error: 'type' of parameter 'a' must name a type, found a list; types: int, float, string, bool, list, map, any",
            "stages/p/stage.yaml:6:31: error: allowed value 'two' of parameter 'b' is a string, not an int",
            "stages/p/stage.yaml:7:28: error: 'required' of parameter 'c' must be true or false",
            "stages/p/stage.yaml:8:43: error: parameter 'd' is required and has a default; keep one",
            "stages/p/stage.yaml:9:27: error: parameter 'e' has 'fields' but type list; fields belong to a map",
            "stages/p/stage.yaml:10:65: error: parameter 'g' declares fields; give each field its default instead of 'g'",
        ])
    }

    @Test func goodDefaultsPassAndIntsBecomeFloats() throws {
        let text = "version: 1\ncommand: x\noutputs: [o]\nparams:\n  lr: {type: float, default: 1}\n  mode: {type: string, default: b, allowed: [a, b]}\n  k: {type: int, default: 2, allowed: [1, 2]}\n"
        guard case .success(let m) = PluginManifest.parse(text, file: "m.yaml", directoryName: "p") else {
            Issue.record("a valid manifest was rejected")
            return
        }
        #expect(m.schema.params.map(\.defaultValue) == [.double(1), .string("b"), .int(2)])
    }

    @Test func unreadableAndClashingManifestsAreReportedNotDropped() throws {
        let ws = scratchDir()
        defer { ContentStore.removeTree(ws) }
        for d in ["a", "b", "c"] { try FileManager.default.createDirectory(atPath: "\(ws)/stages/\(d)", withIntermediateDirectories: true) }
        let manifest = "name: same\nversion: 1\ncommand: x\noutputs: [o]\n"
        FileManager.default.createFile(atPath: "\(ws)/stages/a/stage.yaml", contents: Data(manifest.utf8))
        FileManager.default.createFile(atPath: "\(ws)/stages/b/stage.yaml", contents: Data(manifest.utf8))
        FileManager.default.createFile(atPath: "\(ws)/stages/c/stage.yaml", contents: Data([0x76, 0xff, 0xfe, 0x0a]))
        let r = StageRegistry(builtins: [], pluginsDirectory: ws + "/stages", workspace: ws)
        #expect(r.kinds.keys.sorted() == ["same"])
        #expect(r.broken["b"]?.map(\.description) == [
            "stages/b/stage.yaml:1:1: error: plugin 'b' declares the kind name 'same' of the plugin in \(ws)/stages/a; rename it",
        ])
        #expect(r.broken["c"]?.map(\.description) == ["stages/c/stage.yaml:1:2: error: invalid UTF-8 (byte 0xFF); save the file as UTF-8"])
    }
}
