/// Disjoint sets over document indices. The root of a set is always its smallest index,
/// so "keep the root" keeps the first occurrence of every cluster, independent of the
/// order unions happen in.
struct UnionFind {
    private(set) var parent: [Int32]

    init(count: Int) { parent = (0..<count).map { Int32($0) } }

    mutating func append() -> Int {
        parent.append(Int32(parent.count))
        return parent.count - 1
    }

    mutating func find(_ x: Int) -> Int {
        var root = x
        while Int(parent[root]) != root { root = Int(parent[root]) }
        var node = x
        while Int(parent[node]) != root {  // path compression
            let next = Int(parent[node])
            parent[node] = Int32(root)
            node = next
        }
        return root
    }

    @discardableResult
    mutating func union(_ x: Int, _ y: Int) -> Bool {
        let rx = find(x), ry = find(y)
        guard rx != ry else { return false }
        if rx < ry { parent[ry] = Int32(rx) } else { parent[rx] = Int32(ry) }
        return true
    }
}

/// A growable open-addressing map from 64-bit hashes to document indices (LSH buckets,
/// exact hashes). Swift's `Dictionary` runs every key through SipHash; these keys are
/// already uniformly mixed, so a mask picks the slot.
struct HashIndexMap {
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// The value stored for `key`, or stores `value` and returns nil.
    @inline(__always)
    mutating func valueOrInsert(_ key: UInt64, _ value: Int32) -> Int32? {
        var slot = Int(truncatingIfNeeded: key >> 7) & mask
        while values[slot] >= 0 {
            if keys[slot] == key { return values[slot] }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        values[slot] = value
        count += 1
        if count * 2 > keys.count { grow() }
        return nil
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        let size = keys.count * 2
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
        for i in 0..<oldKeys.count where oldValues[i] >= 0 {
            var slot = Int(truncatingIfNeeded: oldKeys[i] >> 7) & mask
            while values[slot] >= 0 { slot = (slot + 1) & mask }
            keys[slot] = oldKeys[i]
            values[slot] = oldValues[i]
        }
    }
}
