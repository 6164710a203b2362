@testable import AnnealPipeline
import Foundation
import Testing

/// `${…}` values enter commands as literal words: each command here is expanded and then run
/// by a real `/bin/sh`, which must print the value back exactly and run nothing else.
@Suite struct ShellQuotingTests {
    static let hostile = [
        "a; touch INJ", "$(touch INJ)", "`touch INJ`", "it's \"quoted\"", "a b  c", "line1\nline2", #"back\slash\"#,
        "${outputs.o}", "$$", "x$", "", "*", "~", "-n", "é ü", "'", "\"", "'\\''", "a'b\"c`d$e\\f", "$HOME", "!x", "#c",
    ]

    /// The template's shapes: unquoted, double-quoted, single-quoted, and each inside `sh -c '…'`
    /// and `sh -c "…"`; each prints `<value>` once.
    static let templates = [
        #"printf '<%s>' ${params.x}"#,
        #"printf '<%s>' "${params.x}""#,
        #"printf '<%s>' '${params.x}'"#,
        #"printf '<%s>' pre${params.x}post"#,
        #"sh -c 'printf "<%s>" ${params.x}'"#,
        #"sh -c 'printf "<%s>" "${params.x}"'"#,
        #"sh -c "printf '<%s>' ${params.x}""#,
        #"sh -c "printf '<%s>' '${params.x}'""#,
        #"sh -ec 'x=${params.x}; printf "<%s>" "$x"'"#,
        #"bash -c 'sh -c '\''printf "<%s>" ${params.x}'\'''"#,
        #"sh -c 'true; printf "<%s>" ${params.x}' # it's done"#,
        #"printf '<%s>' "$(printf %s ${params.x})""#,
        #"printf '<%s>' "$(printf %s "${params.x}")""#,
        #"printf '<%s>' "$( (printf %s ${params.x}) )""#,
        #"sh -c 'printf "<%s>" "$(printf %s ${params.x})"'"#,
        ##"sh -c "printf '<%s>' \"\$(printf %s ${params.x})\"""##,
        #"find . -maxdepth 0 -exec sh -c 'printf "<%s>" ${params.x}' \;"#,
        #"find . -maxdepth 0 -exec sh -c "printf '<%s>' ${params.x}" \;"#,
        #"\#(longShell) -c 'printf "<%s>" ${params.x}'"#,
        // A quote followed by a combining mark is one Swift Character but a quote to sh.
        #"printf '<%s>' '\#u{301}${params.x}'"#,
    ]

    /// A shell whose path is longer than 64 bytes, as in `/nix/store/…/bin/bash`.
    static let longShell: String = {
        let dir = NSTemporaryDirectory() + "anneal-quote-" + String(repeating: "s", count: 80)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? FileManager.default.createSymbolicLink(atPath: dir + "/sh", withDestinationPath: "/bin/sh")
        return dir + "/sh"
    }()

    /// A few strings drawn from every character a shell treats specially.
    static func randomValues(_ n: Int) -> [String] {
        let chars = Array("'\"\\$`{}()[]!#;&|<>*?~= \t\nab-")
        return (0..<n).map { _ in String((0..<Int.random(in: 1...12)).map { _ in chars.randomElement()! }) }
    }

    @Test(arguments: templates) func hostileParamsStayLiteral(_ template: String) throws {
        for value in Self.hostile + Self.randomValues(15) {
            let dir = try scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let command = CommandTemplate.expand(template, keepEscapes: false) { _, _ in .string(value) }
            var expected = "<\(value)>"
            if template.contains("pre${") { expected = "<pre\(value)post>" }
            if template.contains("x=${") { expected = "<\(value)>" }
            if template.contains("$(") { expected = "<\(String(value.reversed().drop { $0 == "\n" }.reversed()))>" }
            if template.unicodeScalars.contains("\u{301}") { expected = "<\u{301}\(value)>" }
            if template.hasPrefix("find") { expected = expected.replacingOccurrences(of: "{}", with: ".") }  // find's own
            let out = try sh(command, in: dir)
            #expect(out == expected, "value \(value.debugDescription) in \(template) ran as \(command)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "\(command) created a file")
        }
    }

    @Test func loadThenRunQuotesParamsAndPaths() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pipeline = """
            name: q
            params: {x: safe}
            stages:
              a:
                run: sh -c 'printf "<%s>" ${params.x} ${inputs.f} "${outputs.o}" "$${HOME}"'
                inputs: {f: {file: p.yaml}}
                outputs: [o]

            """
        for value in Self.hostile {
            let spec = try PipelineLoader(catalog: TestCatalog(), workspace: "/")
                .load(text: pipeline.replacingOccurrences(of: "p.yaml", with: "etc/hostname"), file: "p.yaml",
                      overrides: ["params.x=\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                                    .replacingOccurrences(of: "\n", with: "\\n") + "\""])
            guard case .command(let loaded) = spec.stages[0].action else { Issue.record("not a command"); return }
            let paths = ["inputs.f": "\(dir)/in $(touch INJ) 'q'", "outputs.o": "\(dir)/out `touch INJ`"]
            let command = CommandTemplate.expand(loaded, keepEscapes: false) { expr, _ in paths[expr].map(Value.string) }
            let out = try sh(command, in: dir, env: ["HOME": "/h"])
            #expect(out == "<\(value)><\(paths["inputs.f"]!)><\(paths["outputs.o"]!)></h>", "\(value.debugDescription) ran as \(command)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    @Test func safeValuesAreWrittenBare() {
        let command = CommandTemplate.expand("sh -c 'seq 1 ${params.n} > ${outputs.o}/x'", keepEscapes: true) { expr, _ in
            expr == "params.n" ? .int(5) : nil
        }
        #expect(command == "sh -c 'seq 1 5 > ${outputs.o}/x'")
        #expect(CommandTemplate.expand("cat ${inputs.a}", keepEscapes: false) { _, _ in .string("/w/cache/objects/ab/cd") } == "cat /w/cache/objects/ab/cd")
    }

    @Test func listsPassOneWordPerElementWhereUnquoted() throws {
        let flags = Value.list([.string("--a"), .string("b c"), .int(3), .string("; touch INJ")])
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let unquoted = CommandTemplate.expand("printf '<%s>' ${params.f}", keepEscapes: false) { _, _ in flags }
        #expect(try sh(unquoted, in: dir) == "<--a><b c><3><; touch INJ>")
        let inner = CommandTemplate.expand("sh -c 'printf \"<%s>\" ${params.f}'", keepEscapes: false) { _, _ in flags }
        #expect(try sh(inner, in: dir) == "<--a><b c><3><; touch INJ>")
        let joined = CommandTemplate.expand("printf '<%s>' \"${params.f}\"", keepEscapes: false) { _, _ in flags }
        #expect(try sh(joined, in: dir) == "<--a b c 3 ; touch INJ>")
        #expect(CommandTemplate.expand("echo ${params.f}", keepEscapes: false) { _, _ in .list([]) } == "echo ")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func dollarDollarBraceIsLiteralForEveryToken() throws {
        let spec = try load("""
            name: e
            params: {n: 1}
            stages:
              a: {run: "echo $${seed} $${params.n} $${inputs.x} $${outputs.o} $${plugin} ${params.n}", outputs: [o]}

            """)
        guard case .command(let c) = spec.stages[0].action else { Issue.record("not a command"); return }
        let run = CommandTemplate.expand(c, keepEscapes: false) { expr, _ in expr == "outputs.o" ? .string("/OUT") : nil }
        #expect(run == "echo ${seed} ${params.n} ${inputs.x} ${outputs.o} ${plugin} 1")
        // A value that brings `${` keeps it through the runner's pass.
        let spec2 = try load("name: e\nparams: {v: '${outputs.o}'}\nstages:\n  a: {run: \"echo ${params.v}x\", outputs: [o]}\n")
        guard case .command(let c2) = spec2.stages[0].action else { Issue.record("not a command"); return }
        #expect(CommandTemplate.expand(c2, keepEscapes: false) { _, _ in .string("/OUT") } == "echo '${outputs.o}'x")
    }

    @Test func aValueEndingInDollarStaysApartFromWhatFollows() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try load("""
            name: d
            params: {a: x$, b: '{y}'}
            stages:
              s:
                run: printf '<%s>' '${params.a}${params.b}' "${params.a}${outputs.o}" ${params.a}{z}; sh -c 'printf "<%s>" "${params.a}"{w}'
                outputs: [o]

            """)
        guard case .command(let c) = spec.stages[0].action else { Issue.record("not a command"); return }
        let command = CommandTemplate.expand(c, keepEscapes: false) { expr, _ in expr == "outputs.o" ? .string("/OUT") : nil }
        #expect(try sh(command, in: dir) == "<x${y}><x$/OUT><x${z}><x${w}>")
        let inner = CommandTemplate.expand("sh -c 'printf \"<%s>\" ${params.a}{w}'", keepEscapes: true) { _, _ in .string("x$") }
        #expect(try sh(CommandTemplate.expand(inner, keepEscapes: false) { _, _ in nil }, in: dir) == "<x${w}>")
    }

    /// In backquotes, bash's `$'…'` or a here-document no quoting makes a value literal (`` "`echo ${x}`" ``
    /// and a here-document with `$(touch X)` both ran `touch`): such a token is an error.
    @Test func tokensInBackquotesOrHereDocumentsAreErrors() {
        let head = "name: b\nparams: {x: a}\nstages:\n  s:\n    outputs: [o]\n    run: "
        for run in [#"echo "`echo ${params.x}`" > ${outputs.o}/v"#, #"echo `echo ${params.x}` > ${outputs.o}/v"#,
                    #"sh -c 'echo `cat ${outputs.o}/v`'"#, "|\n      cat > ${outputs.o}/v <<EOF\n      ${params.x}\n      EOF\n",
                    "|\n      cat <<- 'E' > ${outputs.o}/v\n      \t${outputs.o}\n      E\n",
                    #"bash -c 'printf "<%s>" $'\''a\'\''${params.x}'\'' > ${outputs.o}/v'"#] {
            let e = errors(head + run + "\n")
            #expect(e.count == 1 && e[0].contains("cannot be kept literal"), "\(run): \(e)")
        }
        for run in [#"echo "$(echo ${params.x})" > ${outputs.o}/v"#, "|\n      cat <<EOF > ${outputs.o}/v\n      text\n      EOF\n      echo ${params.x}\n",
                    #"cat <<< ${params.x} > ${outputs.o}/v"#, #"echo '`' ${params.x} '<<E' > ${outputs.o}/v"#] {
            #expect(errors(head + run + "\n").isEmpty, "\(run)")
        }
    }

    /// `su USER -c '…'` and `runuser` run their `-c` word as a script, like `sh -c`.
    @Test func suAndRunuserScriptsAreQuotedForTheirShell() {
        let expected = CommandTemplate.expand("sh -c 'echo ${params.x}'", keepEscapes: false) { _, _ in .string("a; b") }
        for program in ["su - nobody", "/usr/sbin/runuser -u nobody --"] {
            let out = CommandTemplate.expand("\(program) -c 'echo ${params.x}'", keepEscapes: false) { _, _ in .string("a; b") }
            #expect(out == program + expected.dropFirst(2), "\(out)")
        }
    }

    /// Any text is a template: unbalanced quotes, stray braces and backslashes never trap.
    @Test func arbitraryTemplatesNeverTrap() {
        let pieces = ["'", "\"", "\\", "$", " ", "{", "}", "#", ";", "\n", "-c", "sh", "bash", "a=b", "${params.x}", "${inputs.i}", "$${", "$(", "${"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let template = (0..<Int.random(in: 0...30, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let loaded = CommandTemplate.expand(template, keepEscapes: true) { expr, _ in expr == "params.x" ? .string("v$'\"{") : nil }
            _ = CommandTemplate.expand(loaded, keepEscapes: false) { expr, _ in expr == "inputs.i" ? .string("/a b") : nil }
        }
    }

    /// Offsets count Unicode scalars (YAML columns) whatever the bytes before the token, and
    /// an expression keeps its inner spaces but loses the outer ones.
    @Test func tokenOffsetsCountScalarsNotBytes() {
        var seen: [(String, Int)] = []
        var open: [Int] = []
        let template = "echo é😀 ${ params.x } ${inputs.a b}x ${"
        let out = CommandTemplate.expand(template, keepEscapes: true, unterminated: { open.append($0) }) { expr, offset in
            seen.append((expr, offset))
            return nil
        }
        #expect(out == template)
        #expect(seen.map(\.0) == ["params.x", "inputs.a b"])
        #expect(seen.map(\.1) == [8, 22])
        #expect(open == [37])
        #expect(Array(template.unicodeScalars)[8] == "$" && Array(template.unicodeScalars)[37] == "$")
    }

    /// A megabyte-long command (one word, or many) expands in linear time.
    @Test func longCommandsStayLinear() {
        let cases = [(String(repeating: "a", count: 1 << 20) + "${params.x}", "a'v w'"),
                     (String(repeating: "a ", count: 1 << 19) + "${params.x}", "a 'v w'"),
                     ("sh -c '" + String(repeating: "b ", count: 1 << 19) + "${params.x}'", #"b '\''v w'\'''"#)]
        for (template, end) in cases {
            let out = CommandTemplate.expand(template, keepEscapes: true) { _, _ in .string("v w") }
            #expect(out.hasSuffix(end))
        }
    }

    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "anneal-quote-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func sh(_ command: String, in dir: String, env: [String: String] = [:]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = ProcessInfo.processInfo.environment.merging(env) { _, b in b }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
