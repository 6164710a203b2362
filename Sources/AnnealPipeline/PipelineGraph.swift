/// The stage graph: edges run from a stage to the stages whose outputs it reads.
///
/// Everything here is linear in stages plus edges (a 10,000-stage fan has a join with 9,998
/// inputs): names become indices once, and readiness is counted, never rescanned.
public enum PipelineGraph {
    /// Every cycle closed by a back edge of a depth-first walk, each as a path that returns to
    /// its start (`a -> b -> a`); empty for a DAG. Stages are visited in file order so the
    /// same file always reports the same cycles, and two cycles apart are both reported. The
    /// walk keeps its own stack: a 100,000-stage chain is as deep as it is long.
    public static func findCycles(_ stages: [StageSpec]) -> [[String]] {
        let deps = Dictionary(stages.map { ($0.name, $0.upstreamStages) }, uniquingKeysWith: { a, _ in a })
        var state: [String: Int] = [:]  // 1 = on the current path, 2 = done
        var path: [String] = []
        var cycles: [[String]] = []
        // (stage, its upstream stages, the next of them to look at)
        var stack: [(name: String, ups: [String], next: Int)] = []
        for s in stages where state[s.name] == nil {
            state[s.name] = 1
            path.append(s.name)
            stack.append((s.name, deps[s.name] ?? [], 0))
            while let top = stack.last {
                guard top.next < top.ups.count else {
                    stack.removeLast()
                    path.removeLast()
                    state[top.name] = 2
                    continue
                }
                stack[stack.count - 1].next += 1
                let d = top.ups[top.next]
                guard let ups = deps[d] else { continue }
                if state[d] == 1 { cycles.append(Array((Array(path[path.firstIndex(of: d)!...]) + [d]).reversed())) }
                if state[d] == nil {
                    state[d] = 1
                    path.append(d)
                    stack.append((d, ups, 0))
                }
            }
        }
        return cycles
    }

    /// The first of `findCycles`, or nil for a DAG.
    public static func findCycle(_ stages: [StageSpec]) -> [String]? { findCycles(stages).first }

    /// Stages in an order where each comes after everything it reads; ties keep file order
    /// (of the stages whose inputs are all placed, the first in the file comes next). Stages
    /// on a cycle or reading an unknown stage are left out.
    public static func topologicalOrder(_ stages: [StageSpec]) -> [StageSpec] {
        let graph = Graph(stages)
        var remaining = graph.upstream.map(\.count)
        var ready = MinHeap(stages.indices.filter { remaining[$0] == 0 && graph.unknownUpstream[$0] == 0 })
        var out: [StageSpec] = []
        out.reserveCapacity(stages.count)
        while let i = ready.pop() {
            out.append(stages[i])
            for d in graph.dependents[i] {
                remaining[d] -= 1
                if remaining[d] == 0 && graph.unknownUpstream[d] == 0 { ready.push(d) }
            }
        }
        return out
    }

    /// The named stages and everything they read from, transitively.
    public static func closure(of names: Set<String>, in stages: [StageSpec]) -> Set<String> {
        let byName = Dictionary(stages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        var stack = Array(names)
        while let n = stack.popLast() {
            guard seen.insert(n).inserted, let s = byName[n] else { continue }
            stack += s.upstreamStages
        }
        return seen
    }

    /// The named stages and everything that reads from them, transitively.
    public static func downstream(of names: Set<String>, in stages: [StageSpec]) -> Set<String> {
        var readers: [String: [String]] = [:]
        for s in stages {
            for u in s.upstreamStages { readers[u, default: []].append(s.name) }
        }
        var seen = names
        var stack = Array(names)
        while let n = stack.popLast() {
            for r in readers[n] ?? [] where seen.insert(r).inserted { stack.append(r) }
        }
        return seen
    }
}

/// The stage graph over indices into one `[StageSpec]`: built once in O(stages + edges).
/// `upstream[i]` holds the distinct stages `i` reads from (a name several stages share stands
/// for the first of them), `dependents[u]` the stages reading `u`, each once.
public struct Graph: Sendable {
    public let upstream: [[Int]]
    public let dependents: [[Int]]
    /// Upstream names of each stage that no stage has: such a stage can never be ready.
    public let unknownUpstream: [Int]

    public init(_ stages: [StageSpec]) {
        var index: [String: Int] = [:]
        index.reserveCapacity(stages.count)
        for (i, s) in stages.enumerated() where index[s.name] == nil { index[s.name] = i }
        var upstream = [[Int]](repeating: [], count: stages.count)
        var dependents = [[Int]](repeating: [], count: stages.count)
        var unknown = [Int](repeating: 0, count: stages.count)
        for (i, s) in stages.enumerated() {
            for name in s.upstreamStages {
                guard let u = index[name] else { unknown[i] += 1; continue }
                upstream[i].append(u)
                dependents[u].append(i)
            }
        }
        self.upstream = upstream
        self.dependents = dependents
        self.unknownUpstream = unknown
    }
}

/// A binary min-heap of indices: the ready stage first in order comes out first.
public struct MinHeap: Sendable {
    private var items: [Int] = []

    public init(_ items: [Int] = []) {
        for i in items { push(i) }
    }

    public var isEmpty: Bool { items.isEmpty }

    /// The smallest index, left in the heap.
    public var first: Int? { items.first }

    public mutating func push(_ x: Int) {
        items.append(x)
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard items[c] < items[p] else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    public mutating func pop() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var p = 0
        while true {
            let l = 2 * p + 1, r = l + 1
            var m = p
            if l < items.count, items[l] < items[m] { m = l }
            if r < items.count, items[r] < items[m] { m = r }
            guard m != p else { break }
            items.swapAt(p, m)
            p = m
        }
        return first
    }
}
