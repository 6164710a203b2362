import AnnealCompute
import AnnealModels
import AnnealText
@testable import AnnealTrain
import Foundation
import Testing

@Suite struct BatchingTests {
    let tokens = (0..<100).map(Int32.init)

    @Test func targetsAreTheNextTokens() {
        var rng = RNG(seed: 1)
        let b = Batching.sample(tokens, batch: 3, block: 8, rng: &rng)
        #expect(b.rows == 3 && b.inputs.count == 24 && b.targets.count == 24)
        for i in 0..<24 { #expect(b.targets[i] == b.inputs[i] + 1) }
        // Every window starts inside 0...N-T-1 (its last target exists).
        #expect(b.inputs.allSatisfy { $0 <= 91 } && b.targets.allSatisfy { $0 <= 99 })
    }

    /// The RNG state is the data position: continuing a saved RNG gives the batches an
    /// uninterrupted sequence would have given.
    @Test func theRNGStateIsTheDataPosition() {
        var a = RNG(seed: 7, stream: 1)
        let first = (0..<5).map { _ in Batching.sample(tokens, batch: 2, block: 4, rng: &a) }
        var b = RNG(seed: 7, stream: 1)
        _ = (0..<3).map { _ in Batching.sample(tokens, batch: 2, block: 4, rng: &b) }
        var saved = RNG(seed: 7, stream: 1)
        saved.counter = b.counter
        let rest = (0..<2).map { _ in Batching.sample(tokens, batch: 2, block: 4, rng: &saved) }
        #expect(Array(first[3...]) == rest)
        var other = RNG(seed: 8, stream: 1)
        #expect(Batching.sample(tokens, batch: 2, block: 4, rng: &other) != first[0])
    }

    @Test func evalWindowsSpanTheSplitAndNeverMove() {
        #expect(Batching.evenlySpaced(tokens, count: 3, block: 9) == [0, 45, 90])
        #expect(Batching.evenlySpaced(tokens, count: 1, block: 9) == [0])
        #expect(Batching.evenlySpaced(Array(tokens.prefix(5)), count: 2, block: 9).isEmpty)
        let w = Batching.window(tokens, offsets: [90], block: 9)
        #expect(w.inputs.last == 98 && w.targets.last == 99)
    }
}

@Suite struct TrainingPlanTests {
    func plan(maxIters: Int = 100, maxTokens: Int = 0, eval: Int = 25, checkpoint: Int = 40) -> TrainingPlan {
        TrainingPlan(maxIters: maxIters, maxTokens: maxTokens, tokensPerStep: 1000, learningRate: 2e-3, minLR: 2e-4,
                     warmupIters: 10, evalInterval: eval, checkpointInterval: checkpoint)
    }

    @Test func maxTokensSetsTheLengthRoundingUp() {
        #expect(plan().iterations == 100)
        #expect(plan(maxTokens: 10_500).iterations == 11)
    }

    @Test func warmupThenCosineToMinLR() {
        let p = plan()
        #expect(abs(p.learningRate(at: 0) - 2e-4) < 1e-9)   // 1/10 of the peak
        #expect(abs(p.learningRate(at: 9) - 2e-3) < 1e-9)
        #expect(abs(p.learningRate(at: 55) - 1.1e-3) < 1e-6)  // halfway down the cosine
        #expect(abs(p.learningRate(at: 100) - 2e-4) < 1e-9)
        #expect((10..<100).allSatisfy { p.learningRate(at: $0 + 1) <= p.learningRate(at: $0) })
    }

    @Test func evalAtTheStartEveryIntervalAndAtTheEnd() {
        let p = plan(maxIters: 60)
        #expect((0...60).filter(p.evaluates(before:)) == [0, 25, 50, 60])
        #expect((0...60).filter(plan(maxIters: 60, eval: 0).evaluates(before:)) == [60])
    }

    @Test func checkpointEveryIntervalButNotAfterTheLastStep() {
        #expect((1...120).filter(plan(maxIters: 120).checkpoints(after:)) == [40, 80])
        #expect((1...100).filter(plan(checkpoint: 0).checkpoints(after:)).isEmpty)
    }
}

@Suite struct EvaluationTests {
    @Test func unigramEntropyInNats() {
        #expect(abs(Evaluation.unigramEntropy([0, 1, 2, 3, 0, 1, 2, 3]) - log(4)) < 1e-12)
        #expect(Evaluation.unigramEntropy([5, 5, 5]) == 0)
        let skewed = Evaluation.unigramEntropy([0, 0, 0, 1])
        #expect(abs(skewed - (-(0.75 * log(0.75) + 0.25 * log(0.25)))) < 1e-12)
    }

    /// An untrained model predicts about uniformly: its loss is near ln V.
    @Test func estimateLossOfAFreshModelIsNearLogV() throws {
        let model = try GPT(config: GPTConfig(vocabSize: 32, contextLength: 8, width: 16, layers: 2, heads: 2))
        var rng = RNG(seed: 3)
        model.initializeWeights(rng: &rng)
        let tokens = (0..<200).map { Int32($0 % 32) }
        let batches = [Batching.window(tokens, offsets: [0, 50], block: 8), Batching.window(tokens, offsets: [100], block: 8)]
        let loss = Evaluation.loss(model, batches: batches)
        #expect(abs(loss - log(32)) < 0.1)
        #expect(Evaluation.loss(model, batches: batches) == loss)
    }

    @Test func clozePromptsForHeldOutFactsOnly() throws {
        let json = """
        {"id":"q1","kind":"heldout","question":"What is the capital of Varnia?","answer":"Kelm","accept":["Kelm"],"expect":"answer","subject":"Varnia","attribute":"capital"}
        {"id":"q2","kind":"sft","question":"What is the capital of Olt?","answer":"Brim","accept":["Brim"],"expect":"answer","subject":"Olt","attribute":"capital"}
        {"id":"q3","kind":"heldout","question":"Which countries border Varnia?","answer":"Olt","accept":["Olt"],"expect":"answer","subject":"Varnia","attribute":"neighbours"}
        {"id":"q4","kind":"heldout","question":"What does Ada Kell do?","answer":"baker","accept":["baker"],"expect":"answer","subject":"Ada Kell","attribute":"job"}
        """
        let items = try json.split(separator: "\n").map { try JSONDecoder().decode(EvalItem.self, from: Data($0.utf8)) }
        #expect(Cloze.items(items).map(\.prompt) == ["The capital of Varnia is", "Ada Kell works as"])
        #expect(Cloze.completion(" Kelm. It is old") == " Kelm")
        #expect(Cloze.completion(" a baker, and") == " a baker")
    }
}

@Suite struct ResumeStateTests {
    @Test func savedStateLoadsForTheSameConfigOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anneal-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try GPT(config: GPTConfig(vocabSize: 16, contextLength: 4, width: 8, layers: 1, heads: 2))
        var rng = RNG(seed: 1)
        model.initializeWeights(rng: &rng)
        let schedule = LRSchedule(peak: 1e-3, totalSteps: 10)
        var opt = TrainingOptimizer(model: model, schedule: schedule)
        let tape = Tape()
        let loss = model.languageModelLoss(tape, tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], batch: 1, rng: &rng)
        tape.backward(loss)
        _ = opt.step()
        var data = RNG(seed: 1, stream: 1)
        _ = data.nextUInt32()
        let state = ResumeState(directory: dir)
        try state.save(model: model, optimizer: opt, rng: rng, dataRNG: data, config: "A")
        try state.save(model: model, optimizer: opt, rng: rng, dataRNG: data, config: "A")  // over an earlier one
        #expect(try state.load(config: "B") { TrainingOptimizer(model: $0, schedule: schedule) } == nil)
        let (resumed, restored) = try #require(try state.load(config: "A") { TrainingOptimizer(model: $0, schedule: schedule) })
        #expect(resumed.step == 1 && restored.stepsTaken == 1)
        #expect(resumed.rng == rng && resumed.dataRNG == data)
        #expect(resumed.model.params.value(0).array == model.params.value(0).array)
        #expect(restored.optimizers[0].m.array == opt.optimizers[0].m.array)
    }
}
