import AnnealStages
import ArgumentParser
import Foundation

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Scaffold a workspace with an example pipeline and plugin, or (--stage NAME --swift) a Swift plugin.")

    @Argument(help: "Directory to create (or fill, if empty).")
    var directory: String?

    @Option(help: "Scaffold the plugin stages/NAME/ in the current workspace instead (with --swift).")
    var stage: String?

    @Flag(help: "With --stage: a Swift package built against Anneal's libraries.")
    var swift = false

    func validate() throws {
        switch (directory, stage) {
        case (nil, nil): throw ValidationError("give a DIR to scaffold a workspace, or --stage NAME --swift to scaffold a plugin")
        case (_?, _?): throw ValidationError("give either a DIR (a new workspace) or --stage NAME (a plugin in this workspace), not both")
        case (nil, let name?):
            if !swift { throw ValidationError("--stage scaffolds a Swift plugin: add --swift (for a script plugin, copy stages/wordcount)") }
            if !SwiftPluginScaffold.isValidName(name) {
                throw ValidationError("invalid stage name '\(name)': a letter, then letters, digits, '_' and '-'")
            }
        case (_?, nil):
            if swift { throw ValidationError("--swift goes with --stage NAME") }
        }
    }

    func run() throws {
        if let stage { return try scaffoldPlugin(stage) }
        guard let directory else { return }
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw UsageError("\(directory) is not empty; init only fills a new or empty directory")
        }
        let files: [(String, String, Bool)] = [
            ("pipelines/example.yaml", Scaffold.pipeline, false),
            ("stages/wordcount/stage.yaml", Scaffold.manifest, false),
            ("stages/wordcount/wordcount.sh", Scaffold.script, true),
            ("data/notes.txt", "anneal caches every artifact by content\nchange a parameter and only its cone reruns\n", false),
            (".gitignore", "cache/\n", false),
        ]
        for (path, text, executable) in files {
            let full = (directory as NSString).appendingPathComponent(path)
            try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
            if executable { chmod(full, 0o755) }
        }
        print("created \(directory): run `cd \(directory) && anneal run` (pipelines/example.yaml is its only, so default, pipeline)")
    }

    /// `stages/NAME/` of the workspace: refused if it exists, so nothing is overwritten.
    func scaffoldPlugin(_ name: String) throws {
        let fm = FileManager.default
        let dir = Workspace.root + "/stages/" + name
        if fm.fileExists(atPath: dir) { throw UsageError("stages/\(name) already exists; pick another name or remove it") }
        for (path, text) in SwiftPluginScaffold.files(name: name) {
            let full = dir + "/" + path
            try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        print(SwiftPluginScaffold.usage(name: name), terminator: "")
    }
}

enum Scaffold {
    static let pipeline = """
        name: example
        seed: 7
        params: {copies: 3}
        stages:
          repeat:
            run: sh -c 'for i in $(seq ${params.copies}); do cat ${inputs.notes}; done > ${outputs.text}/text.txt'
            inputs: {notes: {file: data/notes.txt}}
            outputs: [text]
          count:
            uses: wordcount
            inputs: {docs: repeat.text}
            with: {min_length: 4}

        """
    static let manifest = """
        version: 1
        summary: Counts words of at least min_length letters in every file of its input
        command: sh ${plugin}/wordcount.sh
        inputs: [docs]
        outputs: [counts]
        headline: [words]
        params:
          min_length: {type: int, default: 1, summary: shortest word counted}

        """
    static let script = """
        #!/bin/sh
        # Reads its parameters from $ANNEAL_PARAMS, writes into $ANNEAL_OUTPUT_COUNTS and
        # reports a metric on the progress descriptor (3).
        set -eu
        min=$(sed -n 's/.*"min_length": *\\([0-9]*\\).*/\\1/p' "$ANNEAL_PARAMS")
        cat "$ANNEAL_INPUT_DOCS"/* | tr -cs 'A-Za-z' '\\n' | awk -v m="$min" 'length($0) >= m' | sort | uniq -c | sort -rn > "$ANNEAL_OUTPUT_COUNTS/counts.txt"
        words=$(awk '{s += $1} END {print s + 0}' "$ANNEAL_OUTPUT_COUNTS/counts.txt")
        echo "{\\"metrics\\": {\\"words\\": $words}}" >&3

        """
}

struct ExecStage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec-stage", abstract: "Run a built-in stage kind under the stage protocol (used by the runner).",
        shouldDisplay: false)

    @Argument var kind: String

    func run() throws {
        let code = StageCatalogue.execute(kind: kind)
        if code != 0 { throw Failure(code: code) }
    }
}
