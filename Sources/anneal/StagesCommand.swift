import AnnealEngine
import AnnealPipeline
import ArgumentParser
import Foundation

struct Stages: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stage kinds (built-in and plugins in stages/), or describe one.")

    @Argument(help: "A stage kind to describe.")
    var kind: String?
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func run() throws {
        let registry = Workspace.registry
        let kinds = registry.kinds.values.sorted { $0.schema.name < $1.schema.name }
        let chosen: [StageKind]
        if let kind {
            guard let k = registry.kinds[kind] else {
                throw UsageError("no stage kind '\(kind)'" + (registry.stageNames.closest(to: kind).map { "; did you mean '\($0)'?" } ?? ""))
            }
            chosen = [k]
        } else {
            chosen = kinds
        }
        if json {
            printJSON(.map(["stages": .list(chosen.map(Self.describe))]))
            return
        }
        for k in chosen {
            let s = k.schema
            let origin: String
            if case .plugin(let dir, _, _) = k.launch { origin = "plugin " + (dir.hasPrefix(Workspace.root + "/") ? String(dir.dropFirst(Workspace.root.count + 1)) : dir) } else { origin = "built-in" }
            print("\(s.name) (version \(s.version), \(origin))" + (s.summary.isEmpty ? "" : ": \(s.summary)"))
            guard kind != nil else { continue }
            print("  inputs:  \((s.inputs + s.optionalInputs.map { $0 + "?" }).joined(separator: ", "))")
            print("  outputs: \(s.outputs.joined(separator: ", "))")
            print("  threads: \(s.threads)")
            if !s.headline.isEmpty { print("  headline: \(s.headline.joined(separator: ", "))") }
            print("  with:")
            for line in Self.paramLines(s.params, indent: "    ") { print(line) }
        }
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
                     "outputs": .list(s.outputs.map(Value.string)), "threads": .int(s.threads), "params": .list(s.params.map(param)),
                     "headline": .list(s.headline.map(Value.string))])
    }
}
