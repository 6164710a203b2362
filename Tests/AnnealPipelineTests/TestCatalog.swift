@testable import AnnealPipeline

/// A catalog with one schema-bearing kind, for validation tests.
struct TestCatalog: StageCatalog {
    static let train = StageSchema(
        name: "train", version: "3", inputs: ["tokens"], optionalInputs: ["init"], outputs: ["model"],
        params: [
            ParamSpec("lr", .float, default: .double(3e-4)),
            ParamSpec("steps", .int, required: true, summary: "optimizer steps"),
            ParamSpec("method", .string, default: .string("full"), allowed: ["full", "lora"]),
            ParamSpec("model", .map, fields: [ParamSpec("width", .int, default: .int(64)), ParamSpec("layers", .int, default: .int(2))]),
        ], threads: 2)

    func schema(named name: String) -> StageSchema? { name == "train" ? Self.train : nil }
    var stageNames: [String] { ["train"] }
}

func load(_ text: String, overrides: [String] = []) throws(PipelineErrors) -> PipelineSpec {
    try PipelineLoader(catalog: TestCatalog(), workspace: "/tmp").load(text: text, file: "p.yaml", overrides: overrides)
}

/// The one-line forms of every diagnostic of an invalid pipeline.
func errors(_ text: String, overrides: [String] = []) -> [String] {
    do {
        _ = try load(text, overrides: overrides)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}
