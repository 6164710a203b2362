/// The stage graph: edges run from a stage to the stages whose outputs it reads.
public enum PipelineGraph {
    /// Every cycle closed by a back edge of a depth-first walk, each as a path that returns to
    /// its start (`a -> b -> a`); empty for a DAG. Stages are visited in file order so the
    /// same file always reports the same cycles, and two cycles apart are both reported.
    public static func findCycles(_ stages: [StageSpec]) -> [[String]] {
        let deps = Dictionary(stages.map { ($0.name, $0.upstreamStages) }, uniquingKeysWith: { a, _ in a })
        var state: [String: Int] = [:]  // 1 = on the current path, 2 = done
        var path: [String] = []
        var cycles: [[String]] = []
        func visit(_ n: String) {
            state[n] = 1
            path.append(n)
            for d in deps[n] ?? [] where deps[d] != nil {
                if state[d] == 1 { cycles.append(Array((Array(path[path.firstIndex(of: d)!...]) + [d]).reversed())) }
                if state[d] == nil { visit(d) }
            }
            path.removeLast()
            state[n] = 2
        }
        for s in stages where state[s.name] == nil { visit(s.name) }
        return cycles
    }

    /// The first of `findCycles`, or nil for a DAG.
    public static func findCycle(_ stages: [StageSpec]) -> [String]? { findCycles(stages).first }

    /// Stages in an order where each comes after everything it reads; ties keep file order.
    public static func topologicalOrder(_ stages: [StageSpec]) -> [StageSpec] {
        var done = Set<String>()
        var out: [StageSpec] = []
        var pending = stages
        while !pending.isEmpty {
            guard let i = pending.firstIndex(where: { $0.upstreamStages.allSatisfy(done.contains) }) else { break }
            let s = pending.remove(at: i)
            done.insert(s.name)
            out.append(s)
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
        var seen = names
        var changed = true
        while changed {
            changed = false
            for s in stages where !seen.contains(s.name) && s.upstreamStages.contains(where: seen.contains) {
                seen.insert(s.name)
                changed = true
            }
        }
        return seen
    }
}
