import AnnealPipeline

/// What the scheduler may look at next, as ninja's `Plan`: each selected stage counts its
/// upstream stages that have not finished; a stage whose count reaches zero is ready, and
/// finishing a stage touches only the stages that read from it. A pass of the run loop so
/// costs what changed, not the size of the DAG (a 10,000-stage fan's join reads 9,998 stages).
///
/// Ready stages come out first-in-`order` first, so a run visits stages in topological order
/// whatever order they finish in, as the earlier full passes over `order` did.
struct Plan {
    /// The stages in topological order; positions in it name stages everywhere below.
    let order: [StageSpec]
    /// Position of each stage name in `order`.
    let position: [String: Int]
    private let graph: Graph
    private let isSelected: [Bool]
    /// Upstream stages of each stage that have not finished yet.
    private(set) var waiting: [Int]
    private var ready: MinHeap

    init(order: [StageSpec], selected: Set<String>) {
        var position: [String: Int] = [:]
        position.reserveCapacity(order.count)
        for (i, s) in order.enumerated() where position[s.name] == nil { position[s.name] = i }
        let graph = Graph(order)
        let isSelected = order.map { selected.contains($0.name) }
        let waiting = graph.upstream.map(\.count)
        self.order = order
        self.position = position
        self.graph = graph
        self.isSelected = isSelected
        self.waiting = waiting
        ready = MinHeap(order.indices.filter { isSelected[$0] && waiting[$0] == 0 && graph.unknownUpstream[$0] == 0 })
    }

    /// The distinct stages `i` reads from, in the order of its inputs.
    func upstream(of i: Int) -> [Int] { graph.upstream[i] }

    /// The next stage to look at: all its upstream stages have finished, or one of them did
    /// not succeed (the caller then skips it). A stage can come out more than once; the caller
    /// ignores one it has already handled.
    mutating func next() -> Int? { ready.pop() }

    /// Stage `i` finished. Its readers wait for one stage fewer, and those that wait for none
    /// are ready; if `i` did not succeed, all its readers are ready at once, to be skipped.
    mutating func finish(_ i: Int, succeeded: Bool) {
        for d in graph.dependents[i] where isSelected[d] {
            waiting[d] -= 1
            if !succeeded || (waiting[d] == 0 && graph.unknownUpstream[d] == 0) { ready.push(d) }
        }
    }

    /// Puts back a ready stage the caller could not start yet (it waits for cores).
    mutating func retry(_ i: Int) { ready.push(i) }
}
