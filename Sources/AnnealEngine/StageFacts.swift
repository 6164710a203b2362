import AnnealPipeline
import Foundation

/// Everything that decides what a stage produces, plus what it produced: one lockfile entry.
/// The action key is the SHA-256 of the canonical JSON of every field but `outputs` and `key`.
public struct StageFacts: Sendable, Equatable {
    /// Version of the key encoding: bumping it makes every stage stale once, never wrong.
    static let keyFormat = 1
    /// Version of the command-stage protocol, the "implementation version" of `run:` stages.
    public static let commandVersion = "1"

    // Every field but `outputs` is part of the key: changing one forgets the memoized key.
    public var kind: String { didSet { memo = KeyMemo() } }
    public var version: String { didSet { memo = KeyMemo() } }
    public var command: String? { didSet { memo = KeyMemo() } }
    public var plugin: String? { didSet { memo = KeyMemo() } }
    /// Nil for a stage that cannot read its seed (`StageSpec.readsSeed`): not part of its key.
    public var seed: Int? { didSet { memo = KeyMemo() } }
    public var params: Value { didSet { memo = KeyMemo() } }
    public var referenced: [String: Value] { didSet { memo = KeyMemo() } }
    public var inputs: [String: OutputFact] { didSet { memo = KeyMemo() } }
    public var outputNames: [String] { didSet { memo = KeyMemo() } }
    public var outputs: [String: OutputFact] = [:]
    /// The key, computed on first use: a run asks for it to look the action up, to record the
    /// execution and to write the lockfile, and lockfile entries that are never compared by
    /// key never pay for it.
    private var memo = KeyMemo()

    public init(kind: String, version: String, command: String?, plugin: String?, seed: Int?, params: Value,
                referenced: [String: Value], inputs: [String: OutputFact], outputNames: [String]) {
        self.kind = kind
        self.version = version
        self.command = command
        self.plugin = plugin
        self.seed = seed
        self.params = params
        self.referenced = referenced
        self.inputs = inputs
        self.outputNames = outputNames
    }

    /// The facts of `stage` as it is declared now, with the given input digests.
    public init(stage: StageSpec, kind: StageKind?, inputs: [String: OutputFact]) {
        var command: String?
        var plugin: String?
        switch stage.action {
        case .command(let c): command = c
        case .uses:
            if case .plugin(_, let c, let digest)? = kind?.launch { command = c; plugin = digest }
        }
        self.init(kind: stage.kindName, version: kind?.schema.version ?? Self.commandVersion, command: command, plugin: plugin,
                  seed: stage.readsSeed ? stage.seed : nil, params: stage.params, referenced: stage.referencedParams, inputs: inputs,
                  outputNames: stage.outputs)
    }

    var keyMaterial: Value {
        var m: [String: Value] = [
            "format": .int(Self.keyFormat), "kind": .string(kind), "version": .string(version),
            "params": params, "referenced": .map(referenced), "outputs": .list(outputNames.sorted().map(Value.string)),
            "inputs": .map(inputs.mapValues { .string($0.digest) }),
        ]
        if let seed { m["seed"] = .int(seed) }
        if let command { m["command"] = .string(command) }
        if let plugin { m["plugin"] = .string(plugin) }
        return .map(m)
    }

    public var key: String { memo.value { Digest.of(keyMaterial.canonicalJSONBytes) } }

    public static func == (a: StageFacts, b: StageFacts) -> Bool {
        a.kind == b.kind && a.version == b.version && a.command == b.command && a.plugin == b.plugin && a.seed == b.seed
            && a.params == b.params && a.referenced == b.referenced && a.inputs == b.inputs && a.outputNames == b.outputNames
            && a.outputs == b.outputs
    }

    /// Why a stage with these facts differs from `old` (its lockfile entry), cheapest first.
    /// `unknownInputs` are inputs whose upstream is stale, so their digests are not known yet.
    public func reasons(comparedTo old: StageFacts, unknownInputs: [String: String]) -> [String] {
        var out: [String] = []
        if kind != old.kind { out.append("kind \(old.kind) → \(kind)") }
        if version != old.version {
            let what = plugin != nil ? "plugin" : command != nil ? "command protocol" : "stage"
            out.append("\(what) version \(old.version) → \(version)")
        }
        if seed != old.seed { out.append("seed \(old.seed.map(String.init) ?? "unread") → \(seed.map(String.init) ?? "unread")") }
        // A pipeline value the stage starts or stops referring to was not added or removed:
        // the stage's own `with` or command changed, and that is the reason given.
        let referencedChanges = Self.diff(old.referenced.filter { referenced[$0.key] != nil },
                                          referenced.filter { old.referenced[$0.key] != nil }, prefix: "")
        out += referencedChanges
        out += Self.diff(old.params.flattened(), params.flattened(), prefix: "with.")
        if command != old.command, referencedChanges.isEmpty { out.append("command changed") }
        if plugin != old.plugin, version == old.version { out.append("plugin files changed (same version)") }
        if outputNames.sorted() != old.outputNames.sorted() { out.append("outputs \(old.outputNames.sorted()) → \(outputNames.sorted())") }
        for name in Set(inputs.keys).union(old.inputs.keys).union(unknownInputs.keys).sorted() {
            if let upstream = unknownInputs[name] {
                out.append("input \(name): upstream \(upstream) is stale")
            } else if old.inputs[name] == nil {
                out.append("input \(name) added")
            } else if inputs[name] == nil {
                out.append("input \(name) removed")
            } else if inputs[name]!.digest != old.inputs[name]!.digest {
                out.append("input \(name) changed")
            }
        }
        return out
    }

    static func diff(_ a: [String: Value], _ b: [String: Value], prefix: String) -> [String] {
        var out: [String] = []
        for k in Set(a.keys).union(b.keys).sorted() where a[k] != b[k] {
            switch (a[k], b[k]) {
            case (let x?, let y?): out.append("param \(prefix)\(k): \(x.displayString) → \(y.displayString)")
            case (nil, let y?): out.append("param \(prefix)\(k) added: \(y.displayString)")
            case (let x?, nil): out.append("param \(prefix)\(k) removed (was \(x.displayString))")
            default: break
            }
        }
        return out
    }
}

/// A key computed once and shared by the copies of one `StageFacts` (a copy that changes a
/// field gets a new, empty memo). Locked: facts cross threads with the stages they launch.
final class KeyMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var key: String?

    func value(_ compute: () -> String) -> String {
        lock.lock()
        defer { lock.unlock() }
        if let key { return key }
        let k = compute()
        key = k
        return k
    }
}
