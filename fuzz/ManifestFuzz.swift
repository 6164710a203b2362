import AnnealEngine
import AnnealPipeline
import Foundation

/// libFuzzer target: the plugin-manifest reader, then a pipeline that uses the plugin with no
/// `with:`, so the manifest's defaults go through validation as a user's pipeline would.
@_cdecl("LLVMFuzzerTestOneInput")
public func manifestFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    switch PluginManifest.parse(text, file: "stages/fuzz/stage.yaml", directoryName: "fuzz") {
    case .failure(let errors):
        _ = errors.description
    case .success(let manifest):
        let catalog = SingleKind(schema: manifest.schema)
        let inputs = manifest.schema.inputs.map { "\($0): {file: data}" }.joined(separator: ", ")
        let pipeline = "name: f\nstages:\n  s: {uses: \(Value.jsonQuoted(manifest.schema.name)), inputs: {\(inputs)}}\n"
        do {
            _ = try PipelineLoader(catalog: catalog, workspace: FuzzWorkspace.shared.root).load(text: pipeline, file: "p.yaml")
        } catch {
            _ = error.description
        }
    }
    return 0
}

struct SingleKind: StageCatalog {
    var schema: StageSchema
    func schema(named name: String) -> StageSchema? { name == schema.name ? schema : nil }
    var stageNames: [String] { [schema.name] }
}
