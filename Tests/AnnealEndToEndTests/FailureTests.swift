import Foundation
import Testing

/// Failing stages, --keep-going, interruption and parallel scheduling.
@Suite struct FailureTests {
    static let pipeline = """
        name: fail
        stages:
          good:
            run: sh -c 'echo ok > ${outputs.o}/v'
            outputs: [o]
          bad:
            run: sh -c 'echo doomed; echo "cannot continue" >&2; exit 3'
            outputs: [o]
          after:
            run: sh -c 'cat ${inputs.i}/v > ${outputs.o}/v'
            inputs: {i: bad.o}
            outputs: [o]
          independent:
            run: sh -c 'sleep 0.3; echo free > ${outputs.o}/v'
            inputs: {i: good.o}
            outputs: [o]

        """

    @Test func failureSkipsDependentsAndKeepGoingFinishesTheRest() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline)
        let r = s.run("p.yaml", ["--keep-going", "--jobs", "1"], code: 1)
        #expect(r.statuses == ["good": "ran", "bad": "failed", "after": "skipped", "independent": "ran"])
        #expect(r.reasons("after") == ["upstream bad failed"])
        let stages = r.json?["stages"]?.listValue ?? []
        let error = stages.first { $0["name"]?.stringValue == "bad" }?["error"]?.stringValue ?? ""
        #expect(error.contains("failed with exit code 3"))
        #expect(error.contains("cannot continue"))
        let log = s.anneal("log", "last", "bad")
        #expect(log.stdout == "doomed\ncannot continue\n")
        // What succeeded stays cached and in the lockfile.
        #expect(s.read("p.lock")?.contains("independent") == true)
        let again = s.run("p.yaml", ["--keep-going"], code: 1)
        #expect(again.statuses["independent"] == "cached")
    }

    @Test func withoutKeepGoingNothingNewStartsAfterAFailure() {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", Self.pipeline.replacingOccurrences(of: "inputs: {i: good.o}\n", with: "inputs: {i: after.o}\n"))
        let r = s.run("p.yaml", ["--jobs", "1"], code: 1)
        #expect(r.statuses["bad"] == "failed")
        #expect(r.statuses["independent"] == "skipped")
        #expect(r.stderr.contains("first error: stage 'bad' failed with exit code 3"))
    }

    @Test func interruptKeepsCompletedStagesAndRecordsTheRun() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", """
            name: stop
            stages:
              quick:
                run: sh -c 'echo 1 > ${outputs.o}/v'
                outputs: [o]
              slow:
                run: sh -c 'sleep 30; echo 2 > ${outputs.o}/v'
                inputs: {i: quick.o}
                outputs: [o]

            """)
        let p = s.start(["run", "p.yaml", "--json"])
        // Wait until the slow stage has started, then Ctrl-C.
        var started = false
        for _ in 0..<100 where !started {
            Thread.sleep(forTimeInterval: 0.1)
            started = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/tmp"))?.contains { $0.contains("-slow-") } ?? false
        }
        #expect(started)
        kill(p.process.processIdentifier, SIGINT)
        let out = p.stdout.fileHandleForReading.readDataToEndOfFile()
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 130)
        let json = Sandbox.Result(code: 130, stdout: String(decoding: out, as: UTF8.self), stderr: "")
        #expect(json.statuses == ["quick": "ran", "slow": "interrupted"])
        let runs = s.anneal("runs", "--json")
        #expect(runs.json?["runs"]?.listValue?.first?["status"]?.stringValue == "interrupted")
        #expect(s.status().statuses == ["quick": "fresh", "slow": "stale"])
    }

    @Test func independentStagesRunInParallelWithinTheCoreBudget() throws {
        let s = Sandbox()
        defer { s.remove() }
        // Each stage records when it starts and ends (in ns) into the workspace.
        let stage = { (name: String, threads: Int) in
            "  \(name):\n    run: sh -c 'date +%s%N > \(s.dir)/\(name).start; sleep 0.5; date +%s%N > \(s.dir)/\(name).end; echo \(name) > ${outputs.o}/v'\n    outputs: [o]\n    threads: \(threads)\n"
        }
        s.write("p.yaml", "name: par\nstages:\n" + stage("a", 1) + stage("b", 1) + stage("wide", 2))
        s.run("p.yaml", ["--jobs", "2"])
        func span(_ n: String) -> ClosedRange<Int> {
            Int(s.read("\(n).start")!.trimmingCharacters(in: .whitespacesAndNewlines))!...Int(s.read("\(n).end")!.trimmingCharacters(in: .whitespacesAndNewlines))!
        }
        #expect(span("a").overlaps(span("b")), "two 1-thread stages share a 2-core budget")
        #expect(!span("wide").overlaps(span("a")) && !span("wide").overlaps(span("b")), "a 2-thread stage runs alone")
    }
}
