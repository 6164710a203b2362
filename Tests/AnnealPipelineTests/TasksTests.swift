@testable import AnnealPipeline
import Testing

/// `tasks:` of a stage: read, bounded, and refused for kinds that do not train data-parallel.
@Suite struct TasksTests {
    struct Catalog: StageCatalog {
        static let pretrain = StageSchema(name: "pretrain", version: "1", inputs: [], outputs: ["model"], params: [], threads: 2,
                                          dataParallel: true)
        static let clean = StageSchema(name: "clean", version: "1", inputs: [], outputs: ["docs"], params: [])
        func schema(named name: String) -> StageSchema? { [Self.pretrain, Self.clean].first { $0.name == name } }
        var stageNames: [String] { ["pretrain", "clean"] }
    }

    func load(_ text: String) throws(PipelineErrors) -> PipelineSpec {
        try PipelineLoader(catalog: Catalog(), workspace: "/tmp").load(text: text, file: "p.yaml", overrides: [])
    }

    func errors(_ text: String) -> [String] {
        do {
            _ = try load(text)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func tasksAreReadAndDefaultToOne() throws {
        let spec = try load("name: t\nstages:\n  p: {uses: pretrain, tasks: 4, threads: 1}\n  c: {uses: clean}\n  q: {uses: pretrain}\n")
        #expect(spec.stage(named: "p")?.tasks == 4)
        #expect(spec.stage(named: "p")?.threads == 1)
        #expect(spec.stage(named: "c")?.tasks == 1)
        #expect(spec.stage(named: "q")?.tasks == 1)
        // One task is allowed anywhere: it is what every stage does.
        #expect(try load("name: t\nstages:\n  c: {uses: clean, tasks: 1}\n").stage(named: "c")?.tasks == 1)
    }

    @Test func badTasksAreAllReportedWithTheirPlace() {
        #expect(errors("name: t\nstages:\n  p: {uses: pretrain, tasks: 0}\n  q: {uses: pretrain, tasks: two}\n"
                       + "  c: {uses: clean, tasks: 2}\n  r: {run: x, outputs: [o], tasks: 3}\n") == [
            "p.yaml:3:30: error: 'tasks' must be an integer in 1...1024, found 0",
            "p.yaml:4:30: error: 'tasks' must be an integer in 1...1024, found two",
            "p.yaml:5:27: error: stage 'c' (kind 'clean') cannot run as 2 tasks: only data-parallel training stages can; remove 'tasks'; kinds that can: pretrain",
            "p.yaml:6:36: error: stage 'r' (a 'run' command) cannot run as 3 tasks: only data-parallel training stages can; remove 'tasks'; kinds that can: pretrain",
        ])
    }
}
