@testable import AnnealPipeline
import Testing

/// Input groups: a kind that compares models takes them as a map of names the pipeline
/// chooses (`models: {sft: sft.model}`), each entry an input `models.NAME`.
@Suite struct InputGroupTests {
    struct Catalog: StageCatalog {
        static let compare = StageSchema(name: "compare", version: "1", inputs: ["data"], inputGroups: ["models"],
                                         outputs: ["report"], params: [])
        func schema(named name: String) -> StageSchema? { name == "compare" ? Self.compare : nil }
        var stageNames: [String] { ["compare"] }
    }

    static let head = """
    name: g
    stages:
      a: {run: x, outputs: [m, d]}
      b: {run: x, outputs: [m]}

    """

    func errors(_ text: String) -> [String] {
        do {
            _ = try PipelineLoader(catalog: Catalog(), workspace: "/tmp").load(text: Self.head + text, file: "p.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func eachEntryOfAGroupIsAnInputNamedGroupDotName() throws {
        let spec = try PipelineLoader(catalog: Catalog(), workspace: "/tmp").load(
            text: Self.head + "  c: {uses: compare, inputs: {data: a.d, models: {first: a.m, second: b.m}}}\n", file: "p.yaml")
        let c = try #require(spec.stage(named: "c"))
        #expect(c.inputs.map(\.name) == ["data", "models.first", "models.second"])
        #expect(c.inputs.map(\.sourceDescription) == ["a.d", "a.m", "b.m"])
    }

    @Test func aGroupIsRequiredNonEmptyAndItsEntriesAreChecked() {
        #expect(errors("  c: {uses: compare, inputs: {data: a.d}}\n") == [
            "p.yaml:5:30: error: stage 'c' is missing input 'models' required by 'compare'; list them by name: models: {NAME: STAGE.OUTPUT, ...}",
        ])
        #expect(errors("  c: {uses: compare, inputs: {data: a.d, models: {}}}\n") == [
            "p.yaml:5:50: error: input 'models' of stage 'c' is empty; list at least one: models: {NAME: STAGE.OUTPUT}",
        ])
        #expect(errors("  c: {uses: compare, inputs: {data: a.d, models: a.m}}\n") == [
            "p.yaml:5:50: error: input 'models' of stage 'c' must map names to 'STAGE.OUTPUT' or {file: PATH}, found a scalar; models: {NAME: STAGE.OUTPUT, ...}",
        ])
        #expect(errors("  c: {uses: compare, inputs: {data: a.d, models: {x: a.mm}}}\n") == [
            "p.yaml:5:54: error: unknown output 'a.mm' in input 'models.x' of stage 'c'; did you mean 'a.m'?",
        ])
    }
}
