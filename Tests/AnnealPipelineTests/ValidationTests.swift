@testable import AnnealPipeline
import Testing

@Suite struct ValidationTests {
    let base = """
        name: t
        seed: 4
        params: {w: 128, lr: 0.001}
        stages:
          src:
            run: sh -c 'echo > ${outputs.toks}/t'
            outputs: [toks]

        """

    @Test func parametersAreTypedDefaultedAndInterpolated() throws {
        let spec = try load(base + "  fit:\n    uses: train\n    inputs: {tokens: src.toks}\n    with: {steps: 10, lr: '${params.lr}', model: {width: '${params.w}'}}\n")
        let fit = try #require(spec.stage(named: "fit"))
        #expect(fit.params == .map([
            "lr": .double(0.001), "steps": .int(10), "method": .string("full"),
            "model": .map(["width": .int(128), "layers": .int(2)]),
        ]))
        #expect(fit.referencedParams == ["params.lr": .double(0.001), "params.w": .int(128)])
        #expect(fit.threads == 2)
        #expect(fit.seed == 4)
        #expect(fit.upstreamStages == ["src"])
    }

    @Test func schemaViolationsAreAllReported() {
        let e = errors(base + "  fit:\n    uses: train\n    inputs: {tokens: src.toks, tokns: src.toks}\n    with: {lr: fast, methd: lora, model: {widht: 3}}\n")
        #expect(e == [
            "p.yaml:10:39: error: stage kind 'train' has no input 'tokns'; did you mean 'tokens'?",
            "p.yaml:11:11: error: stage 'fit' is missing required parameter 'with.steps' (optimizer steps)",
            "p.yaml:11:16: error: parameter 'with.lr' of stage 'fit' must be a float, found string 'fast'",
            "p.yaml:11:22: error: unknown parameter 'with.methd' of stage 'fit'; did you mean 'method'?",
            "p.yaml:11:43: error: unknown parameter 'with.model.widht' of stage 'fit'; did you mean 'width'?",
        ])
    }

    @Test func allowedValuesAndIntForFloat() throws {
        #expect(errors(base + "  fit: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1, method: lroa}}\n") == [
            "p.yaml:8:75: error: parameter 'with.method' of stage 'fit' must be one of full, lora; found 'lroa'; did you mean 'lora'?",
        ])
        let spec = try load(base + "  fit: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1, lr: 1}}\n")
        #expect(spec.stage(named: "fit")?.params["lr"] == .double(1))
    }

    @Test func referencesAndKinds() {
        #expect(errors(base + "  a: {uses: trian}\n  b: {run: x, inputs: {i: scr.toks}, outputs: [o]}\n  c: {run: x, outputs: [o], uses: train}\n") == [
            "p.yaml:8:13: error: unknown stage kind 'trian' in stage 'a'; did you mean 'train'?",
            "p.yaml:9:27: error: unknown stage 'scr' in input 'i' of stage 'b'; did you mean 'src.toks'?",
            "p.yaml:10:6: error: stage 'c' has both 'uses' and 'run'; keep one",
        ])
    }

    @Test func cyclesPrintTheirPath() {
        let e = errors("name: c\nstages:\n  a: {run: x, inputs: {i: c.o}, outputs: [o]}\n  b: {run: x, inputs: {i: a.o}, outputs: [o]}\n  c: {run: x, inputs: {i: b.o}, outputs: [o]}\n")
        #expect(e == ["p.yaml:3:6: error: dependency cycle: a -> b -> c -> a"])
        #expect(errors("name: s\nstages:\n  a: {run: x, inputs: {i: a.o}, outputs: [o]}\n") == ["p.yaml:3:6: error: dependency cycle: a -> a"])
        // Every cycle, not only the first: two apart, and two through one stage.
        #expect(errors("name: c\nstages:\n  a: {run: x, inputs: {i: b.o}, outputs: [o]}\n  b: {run: x, inputs: {i: a.o}, outputs: [o]}\n  c: {run: x, inputs: {i: d.o}, outputs: [o]}\n  d: {run: x, inputs: {i: c.o}, outputs: [o]}\n") == [
            "p.yaml:3:6: error: dependency cycle: a -> b -> a", "p.yaml:5:6: error: dependency cycle: c -> d -> c",
        ])
        #expect(errors("name: c\nstages:\n  a: {run: x, inputs: {i: b.o}, outputs: [o]}\n  b: {run: x, inputs: {i: a.o, j: c.o}, outputs: [o]}\n  c: {run: x, inputs: {i: b.o}, outputs: [o]}\n").count == 2)
    }

    @Test func interpolationErrors() {
        #expect(errors("name: i\nstages:\n  a: {run: 'echo ${nope} ${params.x} ${outputs.p}', outputs: [o]}\n") == [
            "p.yaml:3:18: error: unresolved interpolation '${nope}'; use ${seed}, ${name}, ${params.NAME}, ${inputs.NAME} or ${outputs.NAME}; write $${ for a literal ${",
            "p.yaml:3:26: error: unresolved interpolation '${params.x}': no 'x' under 'params'",
            "p.yaml:3:38: error: unresolved interpolation '${outputs.p}': the stage has no output 'p'; did you mean '${outputs.o}'?",
        ])
        #expect(errors("name: i\nstages:\n  a: {uses: train, inputs: {tokens: a.model}, with: {steps: '${inputs.tokens}'}}\n").contains(
            "p.yaml:3:62: error: '${inputs.tokens}' is only available in 'run' commands and plugin commands"))
    }

    @Test func literalDollarBraceAndSeed() throws {
        let spec = try load("name: l\nseed: 9\nstages:\n  a: {run: 'echo $${HOME} ${seed} > ${outputs.o}/x', outputs: [o]}\n")
        // `$${` stays for the runner's pass, which writes `${` (ShellQuotingTests).
        #expect(spec.stages[0].action == .command("echo $${HOME} 9 > ${outputs.o}/x"))
        #expect(spec.stages[0].referencedParams == ["seed": .int(9)])
    }

    @Test func overridesAreValidatedAndApplied() throws {
        let text = base + "  fit: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}}\n"
        let spec = try load(text, overrides: ["stages.fit.with.lr=1e-4", "params.w=64", "stages.fit.with.model={width: 32}"])
        #expect(spec.stage(named: "fit")?.params["lr"] == .double(1e-4))
        #expect(spec.stage(named: "fit")?.params["model"]?["width"] == .int(32))
        #expect(spec.params["w"] == .int(64))
        #expect(errors(text, overrides: ["stages.fti.with.lr=1"]) == ["--set stages.fti.with.lr=1: error: override names no stage 'fti'; did you mean 'fit'?"])
        #expect(errors(text, overrides: ["stages.fit.with.lr=slow"]) == ["--set stages.fit.with.lr=slow: error: parameter 'with.lr' of stage 'fit' must be a float, found string 'slow'"])
        #expect(errors(text, overrides: ["params.ww=1"]) == ["--set params.ww=1: error: override names no pipeline param 'params.ww'; did you mean 'params.w'?"])
        #expect(errors(text, overrides: ["nonsense"]) == ["--set nonsense: error: an override is KEY=VALUE, e.g. stages.sft.with.lr=1e-4"])
    }

    @Test func topologicalOrderKeepsFileOrderForTies() throws {
        let spec = try load("name: o\nstages:\n  z: {run: x, inputs: {i: y.o}, outputs: [o]}\n  y: {run: x, outputs: [o]}\n  x: {run: x, outputs: [o]}\n")
        #expect(PipelineGraph.topologicalOrder(spec.stages).map(\.name) == ["y", "z", "x"])
        #expect(PipelineGraph.downstream(of: ["y"], in: spec.stages) == ["y", "z"])
        #expect(PipelineGraph.closure(of: ["z"], in: spec.stages) == ["y", "z"])
    }
}
