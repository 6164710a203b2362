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
        let mermaid = s.anneal("dag", "p.yaml", "--format", "mermaid").stdout.split(separator: "\n")
        let ids = mermaid.filter { $0.contains("[\"") }.map { $0.trimmingCharacters(in: .whitespaces).prefix { $0 != "[" } }
        #expect(ids.count == 10 && Set(ids).count == 10, "one mermaid node per stage: \(ids)")
        let dot = s.anneal("dag", "p.yaml", "--format", "dot").stdout
        #expect(dot.contains("subgraph \"cluster_fit\" {\n    label=\"fit: matrix, 4 variants\";"))
        #expect(dot.contains("label=\"eval: along fit, 4 variants\";"))

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

    @Test func mermaidGivesVariantsWhoseNamesDifferOnlyInPunctuationTheirOwnNodes() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: m\nparams: {v: 1}\nstages:\n  g:\n    run: echo ${params.v} > ${outputs.o}/v\n    outputs: [o]\n    matrix: {params.v: [1e-4, 1e+4]}\n")
        let ids = s.anneal("dag", "p.yaml", "--format", "mermaid").stdout.split(separator: "\n")
            .filter { $0.contains("[\"") }.map { $0.trimmingCharacters(in: .whitespaces).prefix { $0 != "[" } }
        #expect(ids.count == 2 && Set(ids).count == 2, "\(ids)")
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

/// `exp show` and `diff` on the sweep, and on runs recorded by an older anneal.
@Suite struct CompareTests {
    @Test func expShowAndDiffOverTheSweep() throws {
        let s = SweepTests.sweepSandbox()
        defer { s.remove() }
        let run = s.run()
        let table = s.anneal("exp", "show", "p.yaml", "--json", "--sort", "val_loss")
        #expect(table.code == 0, "\(table.stderr)")
        let rows = table.json?["rows"]?.listValue ?? []
        #expect(table.json?["mode"] == .string("variants"))
        #expect(table.json?["params"] == .list([.string("learning_rate"), .string("batch_size")]))
        #expect(rows.count == 4)
        let fitStages = (run.json?["stages"]?.listValue ?? []).filter { $0["name"]?.stringValue?.hasPrefix("fit@") == true }
        let valLoss = fitStages.compactMap { $0["metrics"]?["val_loss"]?.doubleValue }.sorted()
        #expect(rows.compactMap { $0["metrics"]?["fit.val_loss"]?.doubleValue } == valLoss)
        #expect(rows.first?["params"]?["batch_size"] != nil)
        let csv = s.anneal("exp", "show", "p.yaml", "--csv").stdout.split(separator: "\n")
        #expect(csv.count == 5 && csv[0].hasPrefix("variant,learning_rate,batch_size,fit.loss,"))
        // Headline metrics only (linfit's are loss and val_loss), unless --all-metrics or sorted by another.
        #expect(!csv[0].contains("fit.lr") && csv[0].contains("fit.val_loss"), "\(csv[0])")
        #expect(s.anneal("exp", "show", "p.yaml", "--csv", "--all-metrics").stdout.split(separator: "\n").first?.contains("fit.lr") == true)
        #expect(s.anneal("exp", "show", "p.yaml", "--csv", "--sort", "lr").stdout.split(separator: "\n").first?.contains("fit.lr") == true)
        #expect(csv[1].hasPrefix("\"learning_rate=0.003,batch_size=4\",0.003,4,"))
        #expect(s.anneal("exp", "show", "p.yaml", "--sort", "nope").code == 2)

        let d = s.anneal("diff", "learning_rate=0.003,batch_size=4", "fit@learning_rate=0.02,batch_size=4", "-p", "p.yaml", "--json")
        #expect(d.code == 0, "\(d.stderr)")
        #expect(d.json?["params"] == .list([.map(["name": .string("fit.with.learning_rate"), "a": .double(0.003), "b": .double(0.02)])]))
        #expect(d.json?["stages"]?.listValue?.compactMap { $0["name"]?.stringValue } == ["fit", "eval"])
        let mse = d.json?["metrics"]?.listValue?.first { $0["name"] == .string("eval.test_mse") }
        let (a, b) = (mse?["a"]?.doubleValue ?? .nan, mse?["b"]?.doubleValue ?? .nan)
        #expect(mse?["delta"]?.doubleValue == b - a)
        #expect(s.anneal("diff", "learning_rate=9", "last", "-p", "p.yaml").code == 2)
    }

    @Test func runsRecordTheirParametersAndOldLedgersKeepWorking() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: p\nparams: {n: 2}\nstages:\n  a: {run: 'seq ${params.n} > ${outputs.o}/x', outputs: [o]}\n")
        // The ledger as anneal wrote it before runs recorded parameters (schema v1), with one run.
        s.write("old.py", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.executescript('''
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1');
            CREATE TABLE runs (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, command TEXT NOT NULL,
                started REAL NOT NULL, finished REAL, status TEXT NOT NULL, lockfile TEXT);
            CREATE TABLE executions (run_id TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
                key TEXT, started REAL, finished REAL, exit_code INTEGER, error TEXT, log TEXT,
                PRIMARY KEY (run_id, stage));
            CREATE TABLE metrics (run_id TEXT NOT NULL, stage TEXT NOT NULL, step INTEGER,
                name TEXT NOT NULL, value REAL NOT NULL, time REAL NOT NULL);
            CREATE INDEX metrics_stage ON metrics (stage, name, time);
            CREATE TABLE file_state (path TEXT PRIMARY KEY, device INTEGER, inode INTEGER,
                size INTEGER, mtime_ns INTEGER, digest TEXT NOT NULL);
            INSERT INTO runs VALUES ('20200101-000000-0old', 'p.yaml', 'anneal run', 1.0, 2.0, 'ok', NULL);
            INSERT INTO executions VALUES ('20200101-000000-0old', 'a', 'ran', NULL, 1.0, 2.0, 0, NULL, NULL);
            INSERT INTO metrics VALUES ('20200101-000000-0old', 'a', 1, 'loss', 0.5, 1.5);
            ''')
            db.commit()
            """)
        try FileManager.default.createDirectory(atPath: s.dir + "/cache", withIntermediateDirectories: true)
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", s.dir + "/old.py", s.dir + "/cache/ledger.sqlite"]
        try py.run()
        py.waitUntilExit()
        #expect(py.terminationStatus == 0)

        #expect(s.anneal("runs", "--json").json?["runs"]?.listValue?.count == 1)
        s.run()
        s.run("p.yaml", ["--set", "params.n=3"])
        let t = s.anneal("exp", "show", "p.yaml", "--json")
        #expect(t.code == 0, "\(t.stderr)")
        #expect(t.json?["mode"] == .string("runs"))
        let rows = t.json?["rows"]?.listValue ?? []
        #expect(rows.count == 3)
        #expect(rows.first?["name"] == .string("20200101-000000-0old"))
        #expect(rows.first?["params"] == .map([:]))
        #expect(rows.first?["metrics"]?["a.loss"] == .double(0.5))
        #expect(t.json?["params"] == .list([.string("a.params.n")]))
        #expect(rows.dropFirst().map { $0["params"]?["a.params.n"] } == [.int(2), .int(3)])
        let d = s.anneal("diff", rows[1]["name"]!.stringValue!, "last", "--json")
        #expect(d.json?["params"] == .list([.map(["name": .string("a.params.n"), "a": .int(2), "b": .int(3)])]))
        #expect(d.json?["stages"]?.listValue?.count == 1)
    }
}
