import AnnealEngine
import AnnealPipeline
import Foundation

/// libFuzzer target: pipeline text → parse, `--set` overrides, validation against a catalog,
/// then the facts and action key of every stage, through a lockfile and back. Lines `#--set KEY=VALUE` (a YAML comment) become
/// overrides, so one input fuzzes the file and the command line together.
///
/// Any input must end in a spec or diagnostics; a trap, a sanitizer report or a timeout is
/// a crash that `fuzz/run.sh` reports.
@_cdecl("LLVMFuzzerTestOneInput")
public func pipelineFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let overrides = text.split(separator: "\n").filter { $0.hasPrefix("#--set ") }.map { String($0.dropFirst(7)) }
    let loader = PipelineLoader(catalog: FuzzWorkspace.shared.registry, workspace: FuzzWorkspace.shared.root)
    do {
        let spec = try loader.load(text: text, file: "p.yaml", overrides: overrides)
        var facts: [String: StageFacts] = [:]
        for stage in PipelineGraph.topologicalOrder(spec.stages) {
            let kind = FuzzWorkspace.shared.registry.kinds[stage.kindName]
            facts[stage.name] = StageFacts(stage: stage, kind: kind, inputs: [:])
            _ = stage.params.prettyJSON
        }
        // Whatever the validator accepts, its lockfile reads back to the same facts and keys.
        let lock = Lockfile(tool: "fuzz", compute: spec.params, pipeline: "p.yaml", name: spec.name, stages: facts)
        let path = FuzzWorkspace.shared.scratchFile
        _ = FileManager.default.createFile(atPath: path, contents: Data(lock.encoded().utf8))
        do {
            let back = try Lockfile.read(path, verifyKeys: true)
            if back.encoded() != lock.encoded() { fail("the lockfile of a valid pipeline does not round-trip:\n\(lock.encoded())") }
        } catch {
            fail("the lockfile of a valid pipeline cannot be read back: \(error)\n\(lock.encoded())")
        }
    } catch {
        _ = error.description
    }
    return 0
}
