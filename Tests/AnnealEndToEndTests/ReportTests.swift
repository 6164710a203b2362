import AnnealPipeline
import Foundation
import Testing

/// `anneal report` and `anneal metrics --watch` through the real binary. The page's structure
/// as a browser sees it is checked by Tests/Browser/report-browser.sh (headless Chromium).
@Suite struct ReportTests {
    static let longStage = """
        import json, math, os, sys, time
        fd = os.fdopen(3, "w", buffering=1)
        n, pause = int(sys.argv[1]), float(sys.argv[2])
        for i in range(1, n + 1):
            fd.write(json.dumps({"step": i, "total": n, "metrics": {"loss": 3 * math.exp(-i / 200) + 0.1 * math.sin(i)}}) + "\\n")
            if pause: time.sleep(pause)
        open(os.environ["ANNEAL_OUTPUT_O"] + "/x", "w").write("ok")

        """

    @Test func aThousandStepSeriesIsDownsampledIntoASmallFile() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("train.py", Self.longStage)
        s.write("p.yaml", "name: long\nstages:\n  train: {run: python3 train.py 1000 0, outputs: [o]}\n")
        #expect(s.anneal("report", "-p", "p.yaml").code == 2, "no run yet")
        let run = s.run()
        #expect(run.statuses == ["train": "ran"])
        let r = s.anneal("report", "-p", "p.yaml", "-o", "out/r.html")
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("wrote out/r.html (") && r.stdout.hasSuffix("; 1 chart, 1 line)\n"))
        let html = try #require(s.read("out/r.html"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        #expect(html.utf8.count < 32 * 1024)
        // 300 buckets, each its minimum and maximum: at most 600 points of the 1000.
        let path = try #require(html.range(of: "class=\"series\"").map { String(html[$0.upperBound...].prefix(while: { $0 != ">" })) })
        let points = path.filter { $0 == "L" }.count + 1
        #expect(points > 300 && points <= 600)
        #expect(html.contains("data-metric=\"train.loss\""))
        // The run's summary line says how to get its report.
        #expect(s.anneal("run", "p.yaml").stderr.contains("— report: anneal report "))
    }

    @Test func severalRunsAreOverlaidWithTheirDifferingParameters() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("train.py", Self.longStage)
        s.write("p.yaml", "name: two\nparams: {n: 20}\nstages:\n  train: {run: 'python3 train.py ${params.n} 0', outputs: [o]}\n")
        let a = s.run().json?["run"]?.stringValue ?? ""
        let b = s.run("p.yaml", ["--set", "params.n=30"]).json?["run"]?.stringValue ?? ""
        let r = s.anneal("report", a, b, "-o", "r.html")
        #expect(r.code == 0 && r.stdout.hasSuffix("; 1 chart, 2 lines)\n"), "\(r.stdout) \(r.stderr)")
        let html = try #require(s.read("r.html"))
        #expect(html.components(separatedBy: "<li class=\"legend-entry\">").count == 3)
        #expect(html.contains("<th>train.params.n</th>"))
        #expect(s.anneal("report", "nosuchrun").code == 2)
    }

    @Test func watchFollowsARunningStageLineByLineWhenPiped() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("train.py", Self.longStage)
        s.write("p.yaml", "name: w\nstages:\n  train: {run: python3 train.py 12 0.25, outputs: [o]}\n")
        let watch = s.start(["metrics", "train", "--watch"])
        // Nothing has run in this workspace: the watch says it waits before the run starts.
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = watch.stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first += chunk
        }
        let run = s.run()
        #expect(run.statuses == ["train": "ran"])
        let out = String(decoding: first + watch.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        watch.process.waitUntilExit()
        #expect(watch.process.terminationStatus == 0)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.first == "waiting for train to start…")
        #expect(lines.last?.hasPrefix("train ran: step 12  loss ") == true, "\(out)")
        // Progress arrived while the stage ran, not only at its end.
        #expect(lines.contains { $0.hasPrefix("train step ") })
        #expect(s.anneal("metrics", "--watch").code == 2)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script for a terminal"))
    func watchRedrawsInPlaceWithASparklineOnATerminal() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("train.py", Self.longStage)
        s.write("p.yaml", "name: w\nstages:\n  train: {run: python3 train.py 12 0.25, outputs: [o]}\n")
        // script(1) gives the watch a pseudo-terminal; its output is what the terminal received.
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        watch.arguments = ["-qfec", "'\(Sandbox.binary)' metrics train --watch", "/dev/null"]
        watch.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        var env = ProcessInfo.processInfo.environment
        env["ANNEAL_CACHE"] = nil
        watch.environment = env
        let out = Pipe()
        watch.standardOutput = out
        watch.standardInput = FileHandle.nullDevice
        try watch.run()
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first += chunk
        }
        #expect(s.run().statuses == ["train": "ran"])
        let text = String(decoding: first + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        watch.waitUntilExit()
        #expect(watch.terminationStatus == 0)
        #expect(text.contains("\u{1B}[K") && text.contains("\u{1B}[2A"), "redrawn in place: \(text.debugDescription)")
        #expect(text.contains("train  ran  step 12  loss "))
        // The final sparkline: 12 losses, the first (highest) a full bar.
        let spark = text.components(separatedBy: "loss ").last?.prefix { "▁▂▃▄▅▆▇█".contains($0) } ?? ""
        #expect(spark.count == 12 && spark.first == "█", "\(text.debugDescription)")
    }
}
