import AnnealPipeline
import Foundation

public struct OutputFact: Sendable, Equatable {
    public var digest: String
    public var size: Int64

    public init(digest: String, size: Int64) {
        self.digest = digest
        self.size = size
    }

    var value: Value { .map(["digest": .string(digest), "size": .int(Int(size))]) }

    /// Nil unless the digest is 64 lowercase hex digits: a digest read from a file becomes a
    /// path in the store, and `../../x` must never be one.
    init?(_ v: Value?) {
        guard let d = v?["digest"]?.stringValue, Digest.isValid(d), let s = v?["size"]?.intValue else { return nil }
        self.init(digest: d, size: Int64(s))
    }
}

/// What one execution of an action produced. Stored as `actions/KE/KEY.json`.
public struct ActionEntry: Sendable {
    public var key: String
    public var stage: String
    public var outputs: [String: OutputFact]
    public var metrics: [String: Double]
    public var seconds: Double

    public init(key: String, stage: String, outputs: [String: OutputFact], metrics: [String: Double], seconds: Double) {
        self.key = key
        self.stage = stage
        self.outputs = outputs
        self.metrics = metrics
        self.seconds = seconds
    }

    var value: Value {
        .map([
            "key": .string(key), "stage": .string(stage), "seconds": .double(seconds),
            "outputs": .map(outputs.mapValues(\.value)),
            "metrics": .map(metrics.mapValues { .double($0) }),
        ])
    }

    init?(_ v: Value) {
        guard let key = v["key"]?.stringValue, let outs = v["outputs"]?.mapValue else { return nil }
        var outputs: [String: OutputFact] = [:]
        for (k, o) in outs {
            guard let f = OutputFact(o) else { return nil }
            outputs[k] = f
        }
        self.init(key: key, stage: v["stage"]?.stringValue ?? "", outputs: outputs,
                  metrics: (v["metrics"]?.mapValue ?? [:]).compactMapValues(\.doubleValue),
                  seconds: v["seconds"]?.doubleValue ?? 0)
    }
}

/// Action key → what the action produced. A hit counts only if every output object exists:
/// an entry whose objects were quarantined or collected is treated as a miss.
public struct ActionCache: Sendable {
    public let store: ContentStore

    public init(store: ContentStore) { self.store = store }

    func path(_ key: String) -> String { "\(store.actionsDir)/\(key.prefix(2))/\(key).json" }

    public func lookup(_ key: String) -> ActionEntry? { lookupWithState(key)?.entry }

    /// The entry and the state of its file as read (`NoOpMemo` records it).
    func lookupWithState(_ key: String) -> (entry: ActionEntry, state: FileState)? {
        guard let (bytes, st) = try? readSmallFile(path(key)).get() else { return nil }
        guard let v = Value.parseJSON(bytes: bytes), let entry = ActionEntry(v), entry.key == key else {
            // Damaged (truncated, edited, nested past `Limits.depth`): a miss, said out loud.
            FileHandle.standardError.write(Data("warning: ignoring the damaged action entry \(path(key)); the stage runs again\n".utf8))
            return nil
        }
        guard entry.outputs.values.allSatisfy({ store.hasObject($0.digest) }) else { return nil }
        return (entry, FileState(st))
    }

    /// Written last in the commit protocol, atomically: a reader sees no entry or a whole one.
    /// `durable: false` leaves the flush to the caller (`EntryWriter` flushes a whole batch).
    public func record(_ entry: ActionEntry, durable: Bool = true) throws(StoreError) {
        let p = path(entry.key)
        let dir = "\(store.actionsDir)/\(entry.key.prefix(2))"
        if mkdir(dir, 0o777) != 0, errno != EEXIST {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try writeAtomically(entry.value.prettyJSON, to: p, durable: durable)
    }

    public func allKeys() -> [String] {
        var out: [String] = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: store.actionsDir)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(store.actionsDir)/\(prefix)")) ?? []
                where name.hasSuffix(".json") { out.append(String(name.dropLast(5))) }
        }
        return out
    }

    /// The entry even if its objects are gone (for gc and verify).
    public func rawEntry(_ key: String) -> ActionEntry? {
        guard let data = FileManager.default.contents(atPath: path(key)),
              let v = Value.parseJSON(String(decoding: data, as: UTF8.self)) else { return nil }
        return ActionEntry(v)
    }

    public func remove(_ key: String) { unlink(path(key)) }

    /// Moves a damaged entry into the quarantine, kept for inspection and never read again.
    func quarantine(_ key: String) throws(StoreError) {
        try? FileManager.default.createDirectory(atPath: store.quarantineDir, withIntermediateDirectories: true)
        let dest = "\(store.quarantineDir)/action-\(key)-\(Int(Date().timeIntervalSince1970)).json"
        guard rename(path(key), dest) == 0 else {
            let code = errno
            throw .system(code, "cannot quarantine action entry \(key) into \(store.quarantineDir)")
        }
    }
}
