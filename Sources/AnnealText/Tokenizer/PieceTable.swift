/// An open-addressing hash table keyed by byte strings (pre-tokens), for word counting in
/// the trainer and the encoder's cache. Swift's `Dictionary<[UInt8], _>` hashes arrays one
/// byte at a time through `Hasher` and allocates an array per lookup; here keys live in
/// one byte arena, are hashed eight bytes at a time, and lookups allocate nothing. This
/// took BPE word counting from the top of the profile to a few percent.
struct PieceTable {
    private(set) var arena: [UInt8] = []
    private(set) var starts: [Int32] = []
    private(set) var lengths: [Int32] = []
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 1 << 12) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { starts.count }

    /// A fast 64-bit hash of bytes (8-byte words folded with multiply–xorshift).
    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(p.count)
        var i = 0
        let n = p.count
        if let base = p.baseAddress {
            while i + 8 <= n {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n { tail |= UInt64(base[i]) << shift; shift += 8; i += 1 }
            h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        }
        h ^= h >> 31
        return h
    }

    /// The entry of `key`, inserting it when missing. Returns (entry, wasInserted).
    @inline(__always)
    mutating func findOrInsert(_ key: UnsafeBufferPointer<UInt8>) -> (Int, Bool) {
        let h = Self.hash(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { break }
            if hashes[entry] == h && equal(entry, key) { return (entry, false) }
            slot = (slot + 1) & mask
        }
        let entry = starts.count
        starts.append(Int32(arena.count))
        lengths.append(Int32(key.count))
        hashes.append(h)
        arena.append(contentsOf: key)
        slots[slot] = Int32(entry)
        if starts.count * 2 > slots.count { grow() }
        return (entry, true)
    }

    /// The entry of `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        let h = Self.hash(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == h && equal(entry, key) { return entry }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private func equal(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard Int(lengths[entry]) == key.count else { return false }
        let start = Int(starts[entry])
        return arena.withUnsafeBufferPointer { a in
            for k in 0..<key.count where a[start + k] != key[k] { return false }
            return true
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for entry in 0..<starts.count {
            var slot = Int(truncatingIfNeeded: hashes[entry]) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
    }

    func key(_ entry: Int) -> ArraySlice<UInt8> {
        let start = Int(starts[entry])
        return arena[start..<(start + Int(lengths[entry]))]
    }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = -1 }
    }
}
