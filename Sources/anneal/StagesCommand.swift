import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Stages: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stages", abstract: "List the stage kinds (built-in and plugins in stages/), or describe one.")

    @Argument(help: "A stage kind to describe.")
    var kind: String?
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let registry = Workspace.registry
        let kinds = registry.kinds.values.sorted { $0.schema.name < $1.schema.name }
        let chosen: [StageKind]
        // Plugins whose manifest is invalid are listed with their errors (stderr, exit 2),
        // never silently left out: the user would not know why `uses:` cannot find them.
        var broken = registry.broken
        if let kind {
            if let problems = registry.broken[kind], registry.kinds[kind] == nil {
                throw PipelineErrors(problems, sources: registry.sources)
            }
            guard let k = registry.kinds[kind] else {
                throw UsageError("no stage kind '\(kind)'" + (registry.stageNames.closest(to: kind).map { "; did you mean '\($0)'?" } ?? ""))
            }
            chosen = [k]
            broken = [:]
        } else {
            chosen = kinds
        }
        if json {
            var out: [String: Value] = ["stages": .list(chosen.map(Self.describe))]
            if !broken.isEmpty {
                out["invalid"] = .list(broken.keys.sorted().map { name in
                    .map(["name": .string(name), "errors": .list(broken[name]!.map { .string($0.description) })])
                })
            }
            printJSON(.map(out))
            try Self.fail(broken, sources: registry.sources)
            return
        }
        for k in chosen {
            let s = k.schema
            let origin: String
            if case .plugin(let dir, _, _) = k.launch { origin = "plugin " + (dir.hasPrefix(Workspace.root + "/") ? String(dir.dropFirst(Workspace.root.count + 1)) : dir) } else { origin = "built-in" }
            print("\(s.name) (version \(s.version), \(origin))" + (s.summary.isEmpty ? "" : ": \(s.summary)"))
            guard kind != nil else { continue }
            print("  inputs:  \((s.inputs + s.inputGroups.map { $0 + ": {NAME: ...}" } + s.optionalInputs.map { $0 + "?" }).joined(separator: ", "))")
            print("  outputs: \(s.outputs.joined(separator: ", "))")
            print("  threads: \(s.threads)")
            if !s.headline.isEmpty { print("  headline: \(s.headline.joined(separator: ", "))") }
            print("  with:")
            for line in Self.paramLines(s.params, indent: "    ") { print(line) }
        }
        for name in broken.keys.sorted() { print("\(name) (invalid plugin: see the errors below)") }
        try Self.fail(broken, sources: registry.sources)
    }

    /// Exit 2 with every diagnostic of every invalid manifest, if any.
    static func fail(_ broken: [String: [Diagnostic]], sources: [String: String]) throws {
        guard !broken.isEmpty else { return }
        throw PipelineErrors(broken.values.flatMap { $0 }, sources: sources)
    }

    static func paramLines(_ params: [ParamSpec], indent: String) -> [String] {
        params.flatMap { p -> [String] in
            var line = "\(indent)\(p.name): \(p.kind.rawValue)"
            if let d = p.defaultValue { line += " = \(d.displayString)" } else if p.isRequired { line += " (required)" }
            if let a = p.allowed { line += " one of \(a.joined(separator: "|"))" }
            if let b = p.bounds { line += " (\(b))" }
            if !p.summary.isEmpty { line += "  — \(p.summary)" }
            return [line] + paramLines(p.fields ?? [], indent: indent + "  ")
        }
    }

    static func describe(_ k: StageKind) -> Value {
        func param(_ p: ParamSpec) -> Value {
            var m: [String: Value] = ["name": .string(p.name), "type": .string(p.kind.rawValue), "required": .bool(p.isRequired),
                                      "summary": .string(p.summary)]
            if let d = p.defaultValue { m["default"] = d }
            if let a = p.allowed { m["allowed"] = .list(a.map(Value.string)) }
            if let b = p.bounds {
                if let lo = b.lower { m[b.lowerInclusive ? "min" : "greater_than"] = .double(lo) }
                if let hi = b.upper { m[b.upperInclusive ? "max" : "less_than"] = .double(hi) }
            }
            if let f = p.fields { m["fields"] = .list(f.map(param)) }
            return .map(m)
        }
        let s = k.schema
        var kind = "builtin"
        if case .plugin = k.launch { kind = "plugin" }
        return .map(["name": .string(s.name), "version": .string(s.version), "kind": .string(kind), "summary": .string(s.summary),
                     "inputs": .list(s.inputs.map(Value.string)), "optional_inputs": .list(s.optionalInputs.map(Value.string)),
                     "input_groups": .list(s.inputGroups.map(Value.string)),
                     "outputs": .list(s.outputs.map(Value.string)), "threads": .int(s.threads), "params": .list(s.params.map(param)),
                     "headline": .list(s.headline.map(Value.string))])
    }
}
