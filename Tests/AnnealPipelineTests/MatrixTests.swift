@testable import AnnealPipeline
import Testing

@Suite struct MatrixTests {
    let base = """
        name: t
        params: {w: 128, tag: a}
        stages:
          src:
            run: sh -c 'echo > ${outputs.toks}/t'
            outputs: [toks]

        """

    @Test func aMatrixExpandsIntoNamedVariantsInProductOrder() throws {
        let spec = try load(base + """
              fit:
                uses: train
                inputs: {tokens: src.toks}
                with: {steps: 10}
                matrix: {lr: [1e-4, 3e-4], model.width: [8, 16]}
              after: {run: 'cat ${inputs.m}', inputs: {m: src.toks}, outputs: [o]}

            """)
        #expect(spec.stages.map(\.name) == [
            "src", "fit@lr=1e-4,model.width=8", "fit@lr=1e-4,model.width=16",
            "fit@lr=3e-4,model.width=8", "fit@lr=3e-4,model.width=16", "after",
        ])
        let v = try #require(spec.stages[2].variant)
        #expect(v.base == "fit" && v.sweep == "fit" && v.index == 1)
        #expect(v.assignments.map(\.key) == ["lr", "model.width"])
        #expect(spec.stages[2].params["lr"] == .double(1e-4))
        #expect(spec.stages[2].params["model"] == .map(["width": .int(16), "layers": .int(2)]))
        #expect(spec.stages[2].params["steps"] == .int(10))
        #expect(spec.stages[4].params["lr"] == .double(3e-4))
        #expect(spec.stages[0].variant == nil && spec.stages[5].variant == nil)
    }

    @Test func valuesAreNamedAsWrittenAndEscaped() throws {
        let spec = try load(base + """
              s:
                run: echo ${params.tag} > ${outputs.o}/x
                outputs: [o]
                matrix: {params.tag: ['a/b', "x,y=z", 'p%', 'plain-1.5+e']}

            """)
        #expect(spec.stages.dropFirst().map(\.name) == ["s@params.tag=a%2Fb", "s@params.tag=x%2Cy%3Dz", "s@params.tag=p%25", "s@params.tag=plain-1.5+e"])
        // The variant's own params reach its command; the pipeline's are unchanged.
        #expect(spec.stages[2].action == .command("echo 'x,y=z' > ${outputs.o}/x"))
        #expect(spec.stages[2].referencedParams == ["params.tag": .string("x,y=z")])
        #expect(spec.params["tag"] == .string("a"))
    }

    @Test func downstreamStagesExpandAlongOrTakeTheWholeList() throws {
        let spec = try load(base + """
              fit:
                uses: train
                inputs: {tokens: src.toks}
                with: {steps: 1}
                matrix: {lr: [0.1, 0.2]}
              score: {run: 'cat ${inputs.m}', inputs: {m: fit.model, t: src.toks}, outputs: [r]}
              table: {run: 'cat ${inputs.rs}', inputs: {rs: 'score.r[*]'}, outputs: [t]}
              all: {run: 'ls ${inputs.ms}', inputs: {ms: 'fit.model[*]'}, outputs: [o]}

            """)
        #expect(spec.stages.map(\.name) == ["src", "fit@lr=0.1", "fit@lr=0.2", "score@lr=0.1", "score@lr=0.2", "table", "all"])
        let score = try #require(spec.stage(named: "score@lr=0.2"))
        #expect(score.inputs.map(\.sourceDescription) == ["fit@lr=0.2.model", "src.toks"])
        #expect(score.variant?.sweep == "fit" && score.variant?.base == "score" && score.variant?.index == 1)
        let table = try #require(spec.stage(named: "table"))
        #expect(table.inputs.map(\.name) == ["rs[0]", "rs[1]"])
        #expect(table.inputs.map(\.sourceDescription) == ["score@lr=0.1.r", "score@lr=0.2.r"])
        #expect(table.inputLists == ["rs": ["rs[0]", "rs[1]"]])
        #expect(table.variant == nil)
        #expect(spec.stage(named: "all")?.upstreamStages == ["fit@lr=0.1", "fit@lr=0.2"])
        // A list of a stage that is not swept has one member.
        let one = try load(base + "  all: {run: 'ls ${inputs.ms}', inputs: {ms: 'src.toks[*]'}, outputs: [o]}\n")
        #expect(one.stage(named: "all")?.inputs.map(\.name) == ["ms[0]"])
    }

    @Test func badMatricesAreReportedWhereTheyAre() {
        let e = errors(base + """
              a: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}, matrix: {lr: []}}
              b: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}, matrix: {lr: [[1]], stpes: [1]}}
              c: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}, matrix: {steps: [1, 2]}}
              d: {run: x, outputs: [o], matrix: {params.wdth: [1]}}
              e: {run: x, outputs: [o], matrix: {params.tag: [1, '1']}}
              f: {run: x, outputs: [o], matrix: {k: [1, 1.0]}}
              g: {run: x, outputs: [o], matrix: []}

            """)
        #expect(e == [
            "p.yaml:7:79: error: matrix key 'lr' of stage 'a' must be a non-empty list of values, found an empty list",
            "p.yaml:8:80: error: matrix values must be scalars (numbers, strings, booleans), found a list in key 'lr' of stage 'b'; sweep a nested parameter by its dotted name, e.g. model.width: [64, 128]",
            "p.yaml:8:86: error: unknown parameter 'with.stpes' in the matrix of stage 'b'; did you mean 'steps'?",
            "p.yaml:9:75: error: parameter 'with.steps' of stage 'c' is set both in 'with' (at p.yaml:9:62) and in 'matrix'; remove it from 'with'",
            "p.yaml:10:38: error: matrix key 'params.wdth' of stage 'd' names no pipeline param 'params.wdth'; declare it under the pipeline's 'params:'",
            "p.yaml:11:55: error: matrix values int '1' and string '1' of key 'params.tag' would give stage 'e' two variants named 'e@params.tag=1'; keep one of them",
            "p.yaml:12:45: error: matrix key 'k' of stage 'f' lists 1.0 twice (first at p.yaml:12:42)",
            "p.yaml:13:37: error: 'matrix' of stage 'g' must map parameters to lists of values, found a list; e.g. matrix: {learning_rate: [1e-4, 3e-4]}",
        ])
    }

    @Test func tooManyVariantsAndConflictingSweeps() {
        let values = (1...17).map(String.init).joined(separator: ", ")
        #expect(errors(base + "  a: {run: x, outputs: [o], matrix: {i: [\(values)], j: [\(values)]}}\n") == [
            "p.yaml:7:37: error: the matrix of stage 'a' has 17 × 17 combinations, more than 256 variants; sweep fewer values, or split the sweep into several stages",
        ])
        let e = errors(base + """
              a: {run: x, outputs: [o], matrix: {i: [1, 2]}}
              b: {run: x, outputs: [o], matrix: {i: [1, 2]}}
              both: {run: x, inputs: {x: a.o, y: b.o}, outputs: [o]}
              own: {run: x, inputs: {x: a.o}, outputs: [o], matrix: {j: [1]}}

            """)
        #expect(e == [
            "p.yaml:9:38: error: stage 'both' reads from two sweeps, 'a' and 'b'; it can follow only one; take one sweep's outputs whole as a list: y: b.o[*]",
            "p.yaml:10:29: error: stage 'own' has its own matrix and reads the sweep 'a' per variant; take the sweep's outputs whole as a list: x: a.o[*]",
        ])
    }

    @Test func aBadValueIsReportedOnceAtTheMatrix() {
        #expect(errors(base + "  a: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}, matrix: {lr: [fast, 0.1], method: [full, lora]}}\n") == [
            "p.yaml:7:80: error: parameter 'with.lr' of stage 'a' must be a float, found string 'fast'",
        ])
    }

    @Test func theSameVariantKeepsItsKeyAcrossOtherValues() throws {
        // Adding a value to the sweep leaves the existing variants' parameters, hence keys, alone.
        let one = try load(base + "  a: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}, matrix: {lr: [0.1]}}\n")
        let two = try load(base + "  a: {uses: train, inputs: {tokens: src.toks}, with: {steps: 1}, matrix: {lr: [0.2, 0.1]}}\n")
        #expect(one.stage(named: "a@lr=0.1")?.params == two.stage(named: "a@lr=0.1")?.params)
        #expect(two.stage(named: "a@lr=0.1")?.variant?.index == 1)
    }
}

@Suite struct ListInputSyntaxTests {
    @Test func anUnquotedListInputInAFlowMappingGetsAHint() {
        #expect(errors("name: t\nstages:\n  a: {run: x, inputs: {m: b.o[*]}, outputs: [o]}\n") == [
            "p.yaml:3:30: error: YAML syntax: while parsing a flow mapping: did not find expected ',' or '}'; inside {…}, quote a list input: {models: 'sft.model[*]'}",
        ])
    }
}
