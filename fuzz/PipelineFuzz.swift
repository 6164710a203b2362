import AnnealEngine
import AnnealPipeline
import Foundation

/// libFuzzer target: pipeline text → parse, `--set` overrides, validation against a catalog,
/// then the action key of every stage. Lines `#--set KEY=VALUE` (a YAML comment) become
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
        for stage in PipelineGraph.topologicalOrder(spec.stages) {
            let kind = FuzzWorkspace.shared.registry.kinds[stage.kindName]
            let facts = StageFacts(stage: stage, kind: kind, inputs: [:])
            _ = facts.key
            _ = stage.params.prettyJSON
        }
    } catch {
        _ = error.description
    }
    return 0
}
