import Foundation
import Testing

/// A run reuses emptied scratch and resume-state directories from stage to stage
/// (`SpareDirectories`). Whatever the stage before left in its own, each stage starts with an
/// empty state directory and a scratch directory holding only its parameters and outputs.
@Suite struct ScratchReuseTests {
    @Test func eachStageStartsWithEmptyDirectoriesOfItsOwn() throws {
        let s = Sandbox()
        defer { s.remove() }
        // Even stages leave their directories as they found them (reused); odd ones leave
        // files and a changed mode behind (deleted), or a link in place of their parameters.
        var yaml = "name: reuse\nstages:\n"
        for i in 0..<6 {
            let look = "ls -A \"$ANNEAL_STATE_DIR\" > ${outputs.o}/state; ls -A \"$(dirname \"$ANNEAL_PARAMS\")\" > ${outputs.o}/scratch"
            let mess = i % 2 == 0 ? ""
                : i == 3 ? "; rm \"$ANNEAL_PARAMS\"; ln -s \"$PWD/victim\" \"$ANNEAL_PARAMS\""
                : "; echo x > \"$ANNEAL_STATE_DIR/left\"; echo x > \"$(dirname \"$ANNEAL_PARAMS\")/left\"; chmod 700 \"$ANNEAL_STATE_DIR\""
            yaml += "  s\(i):\n    run: sh -c '\(look)\(mess)'\n"
            if i > 0 { yaml += "    inputs: {prev: s\(i - 1).o}\n" }
            yaml += "    outputs: [o]\n"
        }
        s.write("p.yaml", yaml)
        s.write("victim", "mine")
        let r = s.anneal("run", "p.yaml", "--jobs", "1")
        #expect(r.code == 0, "\(r.stderr)")
        for i in 0..<6 {
            let out = s.anneal("path", "s\(i).o", "-p", "p.yaml").stdout.trimmingCharacters(in: .newlines)
            #expect(try String(contentsOfFile: out + "/state", encoding: .utf8) == "", "s\(i)'s state directory")
            #expect(try String(contentsOfFile: out + "/scratch", encoding: .utf8) == "o\nparams.json\n", "s\(i)'s scratch")
        }
        #expect(s.read("victim") == "mine", "a link left in place of params.json was written through")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/tmp") == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir + "/cache/state") == [])
    }
}
