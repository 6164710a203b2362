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

