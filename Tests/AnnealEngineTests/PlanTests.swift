@testable import AnnealEngine
@testable import AnnealPipeline
import Testing

/// The scheduler's readiness bookkeeping (`Plan`) and the graph algorithms under it: counted,
/// so that a pass costs what changed, never the size of the DAG.
@Suite struct PlanTests {
    static func stage(_ name: String, reads upstream: [String]) -> StageSpec {
        StageSpec(name: name, action: .command("true"),
                  inputs: upstream.enumerated().map { InputSpec(name: "i\($0.offset)", source: .stage($0.element, output: "o"),
                                                                mark: SourceMark(file: "p.yaml", line: 1, column: 1)) },
                  outputs: ["o"], params: .map([:]), referencedParams: [:], seed: 0, threads: 1,
                  mark: SourceMark(file: "p.yaml", line: 1, column: 1))
    }

    /// a → b, a → c, (b, c) → d, with d reading b twice.
    static let diamond = [stage("a", reads: []), stage("b", reads: ["a"]), stage("c", reads: ["a"]), stage("d", reads: ["b", "c", "b"])]

    @Test func aStageIsReadyWhenItsLastUpstreamFinishes() {
        var plan = Plan(order: Self.diamond, selected: ["a", "b", "c", "d"])
        #expect(plan.waiting == [0, 1, 1, 2], "d waits for b and c, b counted once")
        #expect(plan.next() == 0)
        #expect(plan.next() == nil)
        plan.finish(0, succeeded: true)
        #expect(plan.next() == 1)
        #expect(plan.next() == 2)
        plan.finish(2, succeeded: true)
        #expect(plan.next() == nil, "d still waits for b")
        plan.finish(1, succeeded: true)
        #expect(plan.waiting[3] == 0)
        #expect(plan.next() == 3)
        #expect(plan.next() == nil)
    }

    @Test func aFailureMakesItsReadersReadyAtOnceToBeSkipped() {
        var plan = Plan(order: Self.diamond, selected: ["a", "b", "c", "d"])
        _ = plan.next()
        plan.finish(0, succeeded: true)
        _ = plan.next()
        _ = plan.next()
        plan.finish(1, succeeded: false)
        #expect(plan.next() == 3, "d comes out although c has not finished")
        #expect(plan.upstream(of: 3) == [1, 2])
    }

    @Test func onlySelectedStagesComeOut() {
        var plan = Plan(order: Self.diamond, selected: ["a", "b"])
        #expect(plan.next() == 0)
        plan.finish(0, succeeded: true)
        #expect(plan.next() == 1)
        #expect(plan.next() == nil)
    }

    @Test func readyStagesComeOutInOrderAndARetriedOneComesBack() {
        var plan = Plan(order: [Self.stage("r", reads: [])] + (1...5).map { Self.stage("m\($0)", reads: ["r"]) }, selected: Set(["r"] + (1...5).map { "m\($0)" }))
        _ = plan.next()
        plan.finish(0, succeeded: true)
        #expect(plan.next() == 1)
        plan.retry(1)
        #expect((0..<5).compactMap { _ in plan.next() } == [1, 2, 3, 4, 5])
    }

    /// Issue 13: a 10,000-stage fan (one root, 9,998 middles, one join) is planned with one
    /// `next()` per stage, the join last, each stage exactly once.
    @Test func aTenThousandStageFanComesOutOncePerStage() {
        let n = 10_000
        let middles = (1..<(n - 1)).map { "m\($0)" }
        let stages = [Self.stage("root", reads: [])] + middles.map { Self.stage($0, reads: ["root"]) } + [Self.stage("join", reads: middles)]
        let order = PipelineGraph.topologicalOrder(stages)
        #expect(order.map(\.name) == stages.map(\.name))
        var plan = Plan(order: order, selected: Set(stages.map(\.name)))
        var seen: [Int] = []
        while let i = plan.next() {
            seen.append(i)
            plan.finish(i, succeeded: true)
        }
        #expect(seen == Array(0..<n))
        #expect(plan.waiting[n - 1] == 0)
    }

    /// Ties keep file order, also when the file lists stages against the edges.
    @Test func topologicalOrderOfALongReversedChain() {
        let n = 5_000
        let stages = (0..<n).map { i in Self.stage("s\(i)", reads: i + 1 < n ? ["s\(i + 1)"] : []) }
        #expect(PipelineGraph.topologicalOrder(stages).map(\.name) == stages.reversed().map(\.name))
        #expect(PipelineGraph.findCycles(stages).isEmpty)
        #expect(PipelineGraph.downstream(of: ["s\(n - 1)"], in: stages).count == n)
    }

    /// The cycle search keeps its own stack: a chain as deep as this overflowed the recursive one.
    @Test func cyclesAreFoundAtTheEndOfADeepChain() {
        let n = 100_000
        var stages = (0..<n).map { i in Self.stage("s\(i)", reads: i > 0 ? ["s\(i - 1)"] : []) }
        stages[0] = Self.stage("s0", reads: ["s\(n - 1)"])
        let cycles = PipelineGraph.findCycles(stages)
        #expect(cycles.count == 1)
        #expect(cycles.first?.count == n + 1)
        #expect(cycles.first?.first == cycles.first?.last)
        #expect(PipelineGraph.topologicalOrder(stages).isEmpty, "every stage is on the cycle")
    }
}
