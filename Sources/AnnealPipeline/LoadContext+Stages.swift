import Foundation

/// A stage as written, before cross-stage references are checked and parameters resolved.
struct StageDraft {
    var name: String
    var mark: SourceMark
    var action: StageSpec.Action
    var commandMark: SourceMark?
    var schema: StageSchema?
    var inputs: [InputSpec] = []
    var outputs: [String] = []
    var withNode: YAMLNode?
    var threads: Int?
    var tasks = 1
    var seed: Int?
    /// Set on the variants of a sweep (`LoadContext+Matrix`).
    var variant: StageVariant?
    /// Pipeline params with a variant's `params.*` matrix values written in.
    var params: Value?
    var resources = StageResources()
}

struct Globals {
    var name: String
    var seed: Int
    var params: Value
}

extension LoadContext {
    mutating func draft(_ name: String, _ node: YAMLNode, globals: Globals) -> StageDraft? {
        guard let pairs = node.pairs else {
            error(node.mark, "stage '\(name)' must be a mapping with 'uses' or 'run', found \(node.kindName)")
            return nil
        }
        checkKeys(pairs, allowed: PipelineLoader.stageKeys, what: "key", of: " in stage '\(name)'")
        var d = StageDraft(name: name, mark: node.mark, action: .command(""))
        switch (node["uses"], node["run"]) {
        case (let u?, nil):
            guard let kind = u.scalar, !kind.isEmpty else { error(u.mark, "'uses' must name a stage kind"); return nil }
            d.action = .uses(kind)
            d.schema = loader.catalog.schema(named: kind)
            let problems = loader.catalog.problems(for: kind)
            if d.schema == nil, !problems.isEmpty {
                error(u.mark, "stage kind '\(kind)' of stage '\(name)' has an invalid manifest (errors follow)")
                diagnostics += problems
            } else if d.schema == nil {
                error(u.mark, "unknown stage kind '\(kind)' in stage '\(name)'",
                      hint: didYouMean(kind, loader.catalog.stageNames) ?? "built-in kinds and plugins in stages/: \(loader.catalog.stageNames.sorted().joined(separator: ", "))")
            }
        case (nil, let r?):
            guard let cmd = r.scalar, cmd.contains(where: { !$0.isWhitespace }) else {
                error(r.mark, "'run' must be a non-empty command string")
                return nil
            }
            d.action = .command(cmd)
            d.commandMark = r.mark
        case (.some, .some):
            error(node.mark, "stage '\(name)' has both 'uses' and 'run'; keep one")
        case (nil, nil):
            error(node.mark, "stage '\(name)' needs 'uses: KIND' or 'run: COMMAND'")
        }
        draftOutputs(&d, node["outputs"])
        draftInputs(&d, node["inputs"])
        checkEnvironmentClashes(d, node)
        d.withNode = node["with"]
        if let w = d.withNode, w.pairs == nil {
            error(w.mark, "'with' must be a mapping of parameters, found \(w.kindName)")
            d.withNode = nil
        }
        if let t = node["threads"] { d.threads = threads(t) }
        if let t = node["tasks"] { d.tasks = tasks(t, stage: name, schema: d.schema, action: d.action) ?? 1 }
        if let s = node["seed"] { d.seed = seed(s) }
        if let r = node["resources"] { d.resources = resources(r, stage: name) }
        return d
    }

    mutating func draftOutputs(_ d: inout StageDraft, _ node: YAMLNode?) {
        if let schema = d.schema {
            if let node { error(node.mark, "stage kind '\(schema.name)' declares its own outputs (\(schema.outputs.joined(separator: ", "))); remove 'outputs'") }
            d.outputs = schema.outputs
            return
        }
        guard case .command = d.action else { return }
        guard let node else {
            error(d.mark, "command stage '\(d.name)' needs 'outputs: [NAME, …]'")
            return
        }
        guard let items = node.items else {
            error(node.mark, "'outputs' must be a list of names, found \(node.kindName)")
            return
        }
        for item in items {
            guard let o = item.scalar, isIdentifier(o) else {
                error(item.mark, "output names must start with a letter and hold only letters, digits, '_' and '-'")
                continue
            }
            if d.outputs.contains(o) { error(item.mark, "output '\(o)' is declared twice in stage '\(d.name)'"); continue }
            d.outputs.append(o)
        }
    }

    mutating func draftInputs(_ d: inout StageDraft, _ node: YAMLNode?) {
        let groups = d.schema?.inputGroups ?? []
        var listedGroups: Set<String> = []
        if let node {
            if let pairs = node.pairs {
                for p in pairs {
                    if let group = p.key.scalar, groups.contains(group) {
                        listedGroups.insert(group)
                        draftInputGroup(&d, group: group, p.value)
                    } else if let input = input(p, stage: d.name) {
                        d.inputs.append(input)
                    }
                }
            } else {
                error(node.mark, "'inputs' must map input names to 'stage.output' or {file: path}, found \(node.kindName)")
            }
        }
        guard let schema = d.schema else { return }
        let known = schema.inputs + schema.optionalInputs + schema.inputGroups
        for i in d.inputs where !known.contains(i.name) && !schema.inputGroups.contains(where: { i.name.hasPrefix($0 + ".") }) {
            error(i.mark, "stage kind '\(schema.name)' has no input '\(i.name)'",
                  hint: didYouMean(i.name, known) ?? "its inputs: \(known.joined(separator: ", "))")
        }
        for required in schema.inputs where !d.inputs.contains(where: { $0.name == required }) {
            error(node?.mark ?? d.mark, "stage '\(d.name)' is missing input '\(required)' required by '\(schema.name)'")
        }
        for group in schema.inputGroups where !listedGroups.contains(group) {
            error(node?.mark ?? d.mark, "stage '\(d.name)' is missing input '\(group)' required by '\(schema.name)'",
                  hint: "list them by name: \(group): {NAME: STAGE.OUTPUT, ...}")
        }
    }

    /// `group: {name: STAGE.OUTPUT, ...}`: each entry becomes the input `group.name`.
    mutating func draftInputGroup(_ d: inout StageDraft, group: String, _ value: YAMLNode) {
        if value.pairs?.isEmpty == true {
            error(value.mark, "input '\(group)' of stage '\(d.name)' is empty", hint: "list at least one: \(group): {NAME: STAGE.OUTPUT}")
            return
        }
        guard let members = value.pairs else {
            error(value.mark, "input '\(group)' of stage '\(d.name)' must map names to 'STAGE.OUTPUT' or {file: PATH}, found \(value.kindName)",
                  hint: "\(group): {NAME: STAGE.OUTPUT, ...}")
            return
        }
        for member in members {
            if let input = input(member, stage: d.name) {
                d.inputs.append(InputSpec(name: group + "." + input.name, source: input.source, mark: input.mark))
            }
        }
    }

    mutating func input(_ p: YAMLNode.Pair, stage: String) -> InputSpec? {
        let name = p.key.scalar ?? ""
        guard isIdentifier(name) else {
            error(p.key.mark, "input name '\(name)' must start with a letter and hold only letters, digits, '_' and '-'")
            return nil
        }
        if let ref = p.value.scalar {
            let parts = ref.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                error(p.value.mark, "input '\(name)' of stage '\(stage)' must be 'STAGE.OUTPUT' or {file: PATH}, found '\(ref)'")
                return nil
            }
            return InputSpec(name: name, source: .stage(parts[0], output: parts[1]), mark: p.value.mark)
        }
        guard let fileNode = p.value["file"], let path = fileNode.scalar, !path.isEmpty, p.value.pairs?.count == 1 else {
            error(p.value.mark, "input '\(name)' of stage '\(stage)' must be 'STAGE.OUTPUT' or {file: PATH}")
            return nil
        }
        checkWorkspacePath(path, mark: fileNode.mark, input: name, stage: stage)
        return InputSpec(name: name, source: .file(path), mark: fileNode.mark)
    }

    /// A `{file:}` input must stay inside the workspace, and so must every symlink the stage
    /// would follow in it (see `WorkspaceLinks`).
    mutating func checkWorkspacePath(_ path: String, mark: SourceMark, input: String, stage: String) {
        let root = WorkspaceLinks.realPath(loader.workspace) ?? URL(fileURLWithPath: loader.workspace).standardizedFileURL.path
        let full = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: root + "/")).standardizedFileURL.path
        guard WorkspaceLinks.isInside(full, root: root) else {
            error(mark, "input path '\(path)' is outside the workspace \(root)", hint: "copy the data into the workspace, or run anneal from a directory that contains it")
            return
        }
        if let escape = WorkspaceLinks.firstEscape(under: full, shown: path, root: root) {
            error(mark, "input '\(input)' of stage '\(stage)': \(escape)",
                  hint: "copy the data into the workspace, or link to a file inside it")
            return
        }
        if !FileManager.default.fileExists(atPath: full) {
            error(mark, "input file '\(path)' does not exist in the workspace \(root)")
        }
    }

    mutating func checkReferences(_ drafts: [StageDraft]) {
        let byName = Dictionary(drafts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for d in drafts {
            for input in d.inputs {
                guard case .stage(let s, let o) = input.source else { continue }
                guard let upstream = byName[s] else {
                    let guess = closestMatch(to: s, in: byName.keys).map { "did you mean '\($0).\(o)'?" }
                    error(input.mark, "unknown stage '\(s)' in input '\(input.name)' of stage '\(d.name)'", hint: guess)
                    continue
                }
                if !upstream.outputs.contains(o) {
                    let guess = closestMatch(to: o, in: upstream.outputs).map { "did you mean '\(s).\($0)'?" }
                    error(input.mark, "unknown output '\(s).\(o)' in input '\(input.name)' of stage '\(d.name)'",
                          hint: guess ?? "stage '\(s)' has outputs: \(upstream.outputs.joined(separator: ", "))")
                }
            }
        }
    }

    mutating func finish(_ d: StageDraft, drafts: [StageDraft], globals: Globals) -> StageSpec {
        var referenced: [String: Value] = [:]
        let io = (inputs: d.inputs.map(\.name) + Set(d.inputs.compactMap(\.list)).sorted(), outputs: d.outputs)
        let globals = d.params.map { Globals(name: globals.name, seed: globals.seed, params: $0) } ?? globals
        var params = Value.map([:])
        if let schema = d.schema {
            // A variant's values stand at its matrix: the message names the stage as written there.
            params = resolveParams(d.withNode, specs: schema.params, path: "with", owner: d.variant?.base ?? d.name, fallback: d.mark,
                                   globals: globals, referenced: &referenced)
        } else if let w = d.withNode {
            params = resolvedValue(w, globals: globals, io: nil, referenced: &referenced)
        }
        var action = d.action
        if case .command(let cmd) = d.action, let m = d.commandMark {
            action = .command(interpolateCommand(cmd, mark: m, globals: globals, io: io, referenced: &referenced))
        }
        let seed = d.seed ?? globals.seed
        var stage = StageSpec(name: d.name, action: action, inputs: d.inputs, outputs: d.outputs, params: params,
                              referencedParams: referenced, seed: seed, threads: d.threads ?? d.schema?.threads ?? 1, mark: d.mark)
        stage.resources = d.resources
        stage.tasks = d.tasks
        if case .command = d.action { stage.readsSeed = d.seed != nil || referenced["seed"] != nil }
        stage.variant = d.variant
        return stage
    }
}
