import Foundation

/// `anneal cache verify` and `anneal gc`.
public struct CacheMaintenance {
    public let store: ContentStore

    public init(store: ContentStore) { self.store = store }

    public struct Verification: Sendable {
        public var objects: Int
        public var bytes: Int64
        public var corrupt: [String]
        /// Action entries that do not parse, name another key or hold an invalid digest.
        public var corruptActions: [String] = []
        /// Action entries whose objects are missing: not corruption (those stages rerun), reported.
        public var dangling: [String]
        /// What could not be moved to the quarantine, with why.
        public var quarantineFailures: [String] = []
        /// Digests and keys of those.
        public var notQuarantined: Set<String> = []
    }

    /// Re-hashes every object and checks every action entry; damaged ones are quarantined so
    /// they are never served again. The caller holds the cache lock: objects a concurrent
    /// `gc` deletes would otherwise read as damaged.
    public func verify(quarantine: Bool = true) -> Verification {
        var v = Verification(objects: 0, bytes: 0, corrupt: [], dangling: [])
        let objects = store.allObjects()
        v.objects = objects.count
        for d in objects {
            if let tree = try? Digest.ofTree(store.objectPath(d)), tree.digest == d {
                v.bytes += tree.size
                continue
            }
            v.corrupt.append(d)
            guard quarantine else { continue }
            do { try store.quarantine(d) } catch {
                v.quarantineFailures.append(error.description)
                v.notQuarantined.insert(d)
            }
        }
        let actions = ActionCache(store: store)
        for k in actions.allKeys().sorted() {
            guard Digest.isValid(k), let entry = actions.rawEntry(k), entry.key == k else {
                v.corruptActions.append(k)
                guard quarantine else { continue }
                do { try actions.quarantine(k) } catch {
                    v.quarantineFailures.append(error.description)
                    v.notQuarantined.insert(k)
                }
                continue
            }
            if entry.outputs.values.contains(where: { !store.hasObject($0.digest) }) { v.dangling.append(k) }
        }
        return v
    }

    public struct Collection: Sendable {
        public var actions: [String]
        public var objects: [String]
        public var bytes: Int64
        public var keptObjects: Int
    }

    /// Keeps what a lockfile names and what the `keepRuns` most recent runs used; removes
    /// every other action entry and every object nothing kept refers to. Refuses to collect
    /// anything while a recorded lockfile exists but cannot be read.
    public func collect(ledger: Ledger, keepRuns: Int, dryRun: Bool) throws(StoreError) -> Collection {
        var keepObjects = Set<String>()
        var lockKeys = Set<String>()
        for path in try ledger.lockfiles() where FileManager.default.fileExists(atPath: path) {
            // A lockfile gc cannot read may name objects nothing else keeps: collecting without
            // it could delete the only copy of a result someone committed a lock for.
            let lock: Lockfile
            do { lock = try Lockfile.read(path) } catch {
                throw .lockfile("gc keeps what every recorded lockfile names, and \(path) cannot be read: \(error); "
                                + "repair it, or delete it if its results may go, then run gc again")
            }
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
        // Resume scratch of an attempt that failed and that no kept run or lockfile names
        // again: nothing will resume from it.
        let dropStates = store.stateKeys().filter { !recent.contains($0) && !lockKeys.contains($0) }
        if !dryRun {
            dropStates.forEach(store.removeStateDirectory)
            dropActions.forEach(actions.remove)
            for d in dropObjects { try store.removeObject(d) }
        }
        return Collection(actions: dropActions.sorted(), objects: dropObjects, bytes: bytes, keptObjects: keepObjects.count)
    }
}
