import Foundation

/// `anneal cache verify` and `anneal gc`.
public struct CacheMaintenance {
    public let store: ContentStore

    public init(store: ContentStore) { self.store = store }

    public struct Verification: Sendable {
        public var objects: Int
        public var bytes: Int64
        public var corrupt: [String]
        /// Action entries whose objects are missing: not corruption (those stages rerun), reported.
        public var dangling: [String]
    }

    /// Re-hashes every object; damaged ones are quarantined so they are never served again.
    public func verify(quarantine: Bool = true) -> Verification {
        var corrupt: [String] = []
        var bytes: Int64 = 0
        let objects = store.allObjects()
        for d in objects {
            if let tree = try? Digest.ofTree(store.objectPath(d)), tree.digest == d {
                bytes += tree.size
            } else {
                corrupt.append(d)
                if quarantine { try? store.quarantine(d) }
            }
        }
        let actions = ActionCache(store: store)
        let dangling = actions.allKeys().filter { k in
            actions.rawEntry(k)?.outputs.values.contains { !store.hasObject($0.digest) } ?? true
        }
        return Verification(objects: objects.count, bytes: bytes, corrupt: corrupt, dangling: dangling.sorted())
    }

    public struct Collection: Sendable {
        public var actions: [String]
        public var objects: [String]
        public var bytes: Int64
        public var keptObjects: Int
    }

    /// Keeps what a lockfile names and what the `keepRuns` most recent runs used; removes
    /// every other action entry and every object nothing kept refers to.
    public func collect(ledger: Ledger, keepRuns: Int, dryRun: Bool) throws(StoreError) -> Collection {
        var keepObjects = Set<String>()
        var lockKeys = Set<String>()
        for path in try ledger.lockfiles() where FileManager.default.fileExists(atPath: path) {
            guard let lock = try? Lockfile.read(path) else { continue }
            for f in lock.stages.values {
                lockKeys.insert(f.key)
                f.outputs.values.forEach { keepObjects.insert($0.digest) }
            }
        }
        let recent = try ledger.recentKeys(runs: keepRuns)
        let actions = ActionCache(store: store)
        var dropActions: [String] = []
        for k in actions.allKeys() {
            let entry = actions.rawEntry(k)
            if recent.contains(k) || lockKeys.contains(k), let entry {
                entry.outputs.values.forEach { keepObjects.insert($0.digest) }
            } else {
                dropActions.append(k)
            }
        }
        var dropObjects: [String] = []
        var bytes: Int64 = 0
        for d in store.allObjects() where !keepObjects.contains(d) {
            dropObjects.append(d)
            bytes += (try? Digest.ofTree(store.objectPath(d)).size) ?? 0
        }
        if !dryRun {
            dropActions.forEach(actions.remove)
            dropObjects.forEach(store.removeObject)
        }
        return Collection(actions: dropActions.sorted(), objects: dropObjects, bytes: bytes, keptObjects: keepObjects.count)
    }
}
