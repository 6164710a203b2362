import AnnealPipeline
import Foundation
import Testing

/// `matrix:` sweeps through the real binary, on pipelines/sweep.yaml and its Python plugins
/// (a seeded data set, minibatch SGD on a linear model, an eval with a Wilson interval).
@Suite struct SweepTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A workspace holding the sweep pipeline and the plugins it uses.
    static func sweepSandbox(_ name: String = #function) -> Sandbox {
        let s = Sandbox(name)
        for plugin in ["toydata", "linfit", "lineval"] {
            for file in ["stage.yaml", "\(plugin).py"] {
                s.write("stages/\(plugin)/\(file)", try! String(contentsOfFile: "\(repoRoot)/stages/\(plugin)/\(file)", encoding: .utf8))
            }
        }
        s.write("p.yaml", try! String(contentsOfFile: "\(repoRoot)/pipelines/sweep.yaml", encoding: .utf8))
        return s
    }

    static let fits = ["fit@learning_rate=0.003,batch_size=4", "fit@learning_rate=0.003,batch_size=32",
                       "fit@learning_rate=0.02,batch_size=4", "fit@learning_rate=0.02,batch_size=32"]

    @Test func eachVariantRunsAndIsCachedOnItsOwn() throws {
        let s = Self.sweepSandbox()
        defer { s.remove() }
        let dag = s.anneal("dag", "p.yaml")
        #expect(dag.code == 0)
        #expect(dag.stdout.contains("fit@learning_rate=0.02,batch_size=4 (linfit)  [matrix fit: 3/4]"))
        #expect(dag.stdout.contains("eval@learning_rate=0.003,batch_size=32 (lineval)  [along fit: 2/4]\n  ← model: fit@learning_rate=0.003,batch_size=32.model"))
        #expect(dag.stdout.contains("  ← scores[3]: eval@learning_rate=0.02,batch_size=32.scores"))

        let first = s.run()
        let evals = Self.fits.map { "eval" + $0.dropFirst(3) }
        #expect(first.statuses == Dictionary(uniqueKeysWithValues: (["data", "board"] + Self.fits + evals).map { ($0, "ran") }))
        // The list input reaches the command in the sweep's order: one line per variant.
        let table = s.anneal("path", "board.table", "-p", "p.yaml").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let lines = try String(contentsOfFile: table + "/scores.jsonl", encoding: .utf8).split(separator: "\n")
        let mse = lines.compactMap { Value.parseJSON(String($0))?["test_mse"]?.doubleValue }
        let evalMSE = evals.map { name in
            (first.json?["stages"]?.listValue ?? []).first { $0["name"]?.stringValue == name }?["metrics"]?["test_mse"]?.doubleValue
        }
        #expect(mse.count == 4 && mse.map(Optional.some) == evalMSE)

        #expect(s.run().statuses.values.allSatisfy { $0 == "cached" })
        // A new value reruns its variants, their evals and the table; the others stay cached.
        s.write("p.yaml", s.read("p.yaml")!.replacingOccurrences(of: "batch_size: [4, 32]", with: "batch_size: [4, 16]"))
        let third = s.run().statuses
        #expect(third.filter { $0.value == "ran" }.keys.sorted() == [
            "board", "eval@learning_rate=0.003,batch_size=16", "eval@learning_rate=0.02,batch_size=16",
            "fit@learning_rate=0.003,batch_size=16", "fit@learning_rate=0.02,batch_size=16",
        ])
        #expect(third["fit@learning_rate=0.02,batch_size=4"] == "cached")
    }

    @Test func listInputsInTheStageProtocol() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: lists
            stages:
              gen:
                run: sh -c 'echo ${params.v} > ${outputs.o}/v'
                outputs: [o]
                matrix: {params.v: [a, b, c]}
              all:
                run: sh -c 'printf "%s\\n" "$ANNEAL_INPUTS" "$ANNEAL_INPUT_XS_2" > ${outputs.o}/env; for d in ${inputs.xs}; do cat "$d/v"; done > ${outputs.o}/cat'
                inputs:
                  xs: gen.o[*]
                outputs: [o]
            params: {v: z}

            """)
        let r = s.run()
        #expect(r.statuses.count == 4)
        let dir = s.anneal("path", "all.o", "-p", "p.yaml").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try String(contentsOfFile: dir + "/cat", encoding: .utf8) == "a\nb\nc\n")
        let env = try String(contentsOfFile: dir + "/env", encoding: .utf8).split(separator: "\n").map(String.init)
        let paths = Value.parseJSON(env[0])?["xs"]?.listValue?.compactMap(\.stringValue) ?? []
        #expect(paths.count == 3 && env[1] == paths[2])
        let third = s.anneal("path", "gen@params.v=c.o", "-p", "p.yaml").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(third == paths[2])
    }
}
