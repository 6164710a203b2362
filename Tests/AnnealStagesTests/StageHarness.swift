import Testing
import AnnealPipeline
@testable import AnnealStages
import Foundation

/// Runs built-in stages in this process, the way `anneal exec-stage` does: parameters are
/// the schema defaults with overrides, outputs are fresh directories, and progress lines go
/// to a file the test reads back.
struct StageHarness {
    let root: URL

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("anneal-stages-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    struct Result {
        var outputs: [String: String]
        var reports: [Value]

        /// Every reported value of `metric`, in order.
        func series(_ metric: String) -> [Double] {
            reports.compactMap { $0["metrics"]?[metric]?.doubleValue }
        }

        var messages: [String] { reports.compactMap { $0["message"]?.stringValue } }
    }

    func run(_ stage: any BuiltinStage.Type, name: String, inputs: [String: String] = [:], with overrides: [String: Value] = [:],
             seed: Int = 1, threads: Int = 2, state: String? = nil) throws -> Result {
        var params = Dictionary(uniqueKeysWithValues: stage.schema.params.map { ($0.name, $0.defaultValue ?? .null) })
        params.merge(overrides) { $1 }
        let dir = root.appendingPathComponent(name + "-" + UUID().uuidString)
        var outputs: [String: String] = [:]
        for o in stage.schema.outputs {
            outputs[o] = dir.appendingPathComponent(o).path
            try FileManager.default.createDirectory(atPath: outputs[o]!, withIntermediateDirectories: true)
        }
        let progress = dir.appendingPathComponent("progress.jsonl").path
        let fd = open(progress, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        defer { close(fd) }
        let ctx = StageContext(stage: name, inputs: inputs, outputs: outputs, params: .map(params), seed: seed, threads: threads,
                               stateDirectory: state, progressFD: fd)
        try StageCatalogue.run(stage, ctx)
        let text = (try? String(contentsOfFile: progress, encoding: .utf8)) ?? ""
        return Result(outputs: outputs, reports: text.split(separator: "\n").compactMap { Value.parseJSON(String($0)) })
    }
}

/// Bytes of every file under `dir`, by relative path.
func files(_ dir: String) -> [String: Data] {
    var out: [String: Data] = [:]
    let e = FileManager.default.enumerator(atPath: dir)
    while let path = e?.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir + "/" + path, isDirectory: &isDir), !isDir.boolValue {
            out[path] = FileManager.default.contents(atPath: dir + "/" + path)
        }
    }
    return out
}

/// Every suite that runs a stage in this process: stages set process-wide thread counts
/// (OpenBLAS, kernels, text pools) from their budget, and a run whose BLAS thread count changes
/// half-way may round differently, so these suites never overlap.
@Suite(.serialized) struct InProcessStageTests {}

