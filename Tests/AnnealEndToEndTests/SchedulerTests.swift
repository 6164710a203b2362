import Foundation
import Testing

/// The scheduler on wide DAGs, through the real binary.
@Suite struct SchedulerTests {
    /// A fan (one root, many middles, one join reading every middle) runs every stage once
    /// and the join sees every middle's output; the second run is a no-op. Issue 13: readiness
    /// is counted, so the join's inputs cost nothing per scheduler pass. The join's map of
    /// input paths (long names) is past the 128 KiB Linux allows one environment string (the
    /// join could not start): it comes as a file.
    @Test func aWideFanCompletes() {
        let s = Sandbox()
        defer { s.remove() }
        let n = 300
        var lines = ["name: fan", "stages:", "  root:", "    run: sh -c 'echo r > ${outputs.o}/v'", "    outputs: [o]"]
        for i in 1..<(n - 1) {
            lines += ["  m\(i):", "    run: sh -c 'cat ${inputs.r}/v > ${outputs.o}/v; echo \(i) >> ${outputs.o}/v'",
                      "    inputs: {r: root.o}", "    outputs: [o]"]
        }
        // Long input names put the map well past 128 KiB whatever the length of the temp path.
        func input(_ i: Int) -> String { "input_\(i)_" + String(repeating: "x", count: 400) }
        let ins = (1..<(n - 1)).map { "\(input($0)): m\($0).o" }.joined(separator: ", ")
        lines += ["  join:", "    run: sh -c 'test -z \"$ANNEAL_INPUTS\" && grep -c /objects/ \"$ANNEAL_INPUTS_FILE\" && cat ${inputs.\(input(1))}/v ${inputs.\(input(n - 2))}/v > ${outputs.o}/v'",
                  "    inputs: {\(ins)}", "    outputs: [o]"]
        s.write("p.yaml", lines.joined(separator: "\n") + "\n")
        let first = s.run("p.yaml", ["--jobs", "2"])
        #expect(first.statuses.count == n)
        #expect(first.statuses.values.allSatisfy { $0 == "ran" })
        let join = first.json?["stages"]?.listValue?.last
        #expect(join?["name"]?.stringValue == "join")
        let path = s.anneal("path", "join.o", "-p", "p.yaml").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try! String(contentsOfFile: path + "/v", encoding: .utf8) == "r\n1\nr\n\(n - 2)\n")
        let second = s.run()
        #expect(second.statuses.values.allSatisfy { $0 == "cached" })
        #expect(second.statuses.count == n)
    }
}
