import AnnealCompute
import AnnealModels
import AnnealText
import Foundation
import Testing
@testable import AnnealTrain

/// A brief next-token run then masked SFT on TinyWorld, built from AnnealTrain's pieces. It
/// checks that they train (SFT loss goes down), and writes the models that
/// scripts/check_hf_export.sh compares with transformers.
enum BriefTraining {
    struct Result {
        var model: GPT
        var tokenizer: BPETokenizer
        var sftLosses: [Float]
    }

    static func run(width: Int, context: Int, pretrainSteps: Int, sftSteps: Int, sftRate: Float = 1e-3, seed: UInt64 = 5) throws -> Result {
        var config = TinyWorldConfig(seed: 7)
        config.countries = 8
        config.people = 12
        config.sftPairs = 200
        let world = try TinyWorld.generate(config)
        var trainer = BPETrainer(BPETrainerConfig(vocabSize: 512))
        trainer.add(world.corpus.map(\.text))
        let tokenizer = try trainer.train()
        let eot = Int32(tokenizer.id(ofSpecial: ChatTemplate.endOfText)!)
        var encoder = BPEEncoder(tokenizer)
        var stream: [Int32] = []
        for d in world.corpus { stream += encoder.encode(d.text, allowSpecial: false).map { Int32($0) } + [eot] }

        var rng = RNG(seed: seed)
        let model = try GPT(config: GPTConfig(vocabSize: tokenizer.vocabSize, contextLength: context, width: width,
                                              layers: 2, heads: 4))
        model.initializeWeights(rng: &rng)
        let B = 8, T = context / 2
        let tape = Tape()
        var opt = TrainingOptimizer(model: model, schedule: LRSchedule(peak: 3e-3, warmupSteps: 10, totalSteps: max(1, pretrainSteps)))
        for _ in 0..<pretrainSteps {
            var x: [Int32] = [], y: [Int32] = []
            for _ in 0..<B {
                let start = rng.nextInt(below: stream.count - T - 1)
                x += stream[start..<(start + T)]
                y += stream[(start + 1)..<(start + T + 1)]
            }
            opt.zeroGrads()
            tape.reset()
            tape.backward(model.languageModelLoss(tape, tokens: x, targets: y, batch: B, training: true, rng: &rng))
            _ = opt.step()
        }

        let conversations = world.sft.enumerated().map { Conversation(messages: $1.messages, file: "sft", line: $0 + 1) }
        let examples = try conversations.map { try SFTEncoding.encode($0, maxTokens: context + 1, encoder: &encoder) }
        let rows = SFTBatching.rows(examples, blockSize: context, pad: eot, layout: .packing)
        var sft = TrainingOptimizer(model: model, schedule: LRSchedule(peak: sftRate, warmupSteps: 5, totalSteps: max(1, sftSteps)))
        var losses: [Float] = []
        for step in 0..<sftSteps {
            let batch = try SFTBatching.batch(rows, SFTBatching.rowIndices(step: step, batchSize: 4, rowCount: rows.count, seed: seed)).validated()
            sft.zeroGrads()
            tape.reset()
            let loss = SFTLoss.loss(tape, model: model, batch: batch, training: true, rng: &rng)
            losses.append(tape.value(loss)[0])
            tape.backward(loss)
            _ = sft.step()
        }
        return Result(model: model, tokenizer: tokenizer, sftLosses: losses)
    }
}

@Suite struct BriefTrainingTests {
    @Test func maskedSFTLowersTheLossOnAssistantTokens() throws {
        let r = try BriefTraining.run(width: 16, context: 64, pretrainSteps: 0, sftSteps: 24, sftRate: 1e-2)
        let first = r.sftLosses.prefix(4).reduce(0, +) / 4, last = r.sftLosses.suffix(4).reduce(0, +) / 4
        #expect(last < 0.8 * first, "SFT loss \(first) → \(last)")
    }

    /// Writes `random/`, `trained/` and `reward/` checkpoints (with tokenizers) into
    /// $ANNEAL_HF_EXPORT_DIR for scripts/check_hf_export.sh. `reward/` is the trained body
    /// with a random scalar head, and `rewards.json` holds Anneal's rewards for a few
    /// preference pairs (ids as batched, right-padded with <|endoftext|>).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ANNEAL_HF_EXPORT_DIR"] != nil))
    func writesParityModels() throws {
        let out = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ANNEAL_HF_EXPORT_DIR"]!)
        let steps = Int(ProcessInfo.processInfo.environment["ANNEAL_HF_EXPORT_STEPS"] ?? "") ?? 300
        let random = try BriefTraining.run(width: 64, context: 128, pretrainSteps: 0, sftSteps: 0)
        let trained = try BriefTraining.run(width: 64, context: 128, pretrainSteps: steps, sftSteps: steps / 3)
        for (name, r) in [("random", random), ("trained", trained)] {
            let dir = out.appendingPathComponent(name)
            try Checkpoint.save(r.model, to: dir)
            try r.tokenizer.write(to: dir)
        }
        print("trained: \(steps) next-token steps, then SFT loss \(trained.sftLosses.first ?? 0) → \(trained.sftLosses.last ?? 0)")

        let reward = try GPT(config: trained.model.config, scalarHead: true)
        for (i, e) in reward.params.entries.enumerated() where e.name != "score.weight" {
            reward.params.value(i).assign(trained.model.params[e.name])
        }
        var rng = RNG(seed: 9)
        let head = reward.params["score.weight"]
        rng.fillNormal(head.pointer, count: head.count, std: 0.1)
        var encoder = BPEEncoder(trained.tokenizer)
        let records = [("What is the capital of Avalon?", "The capital is Kelm.", "I don't know."),
                       ("Hello there!", "Hello! How can I help?", "Go away.")]
        let pairs = try records.enumerated().map { i, r in
            try RewardData.encode(PreferenceRecord(prompt: r.0, chosen: r.1, rejected: r.2, file: "parity", line: i + 1),
                                  blockSize: 128, encoder: &encoder)
        }
        let eot = Int32(trained.tokenizer.id(ofSpecial: ChatTemplate.endOfText)!)
        let batch = RewardData.batch(pairs, pad: eot)
        let tape = Tape(recordsGradients: false)
        let (c, r) = BradleyTerry.rewards(tape, model: reward, batch: batch, training: false, rng: &rng)
        let values = tape.value(c).array + tape.value(r).array
        let T = batch.blockSize
        let rows = values.indices.map { row in
            "{\"ids\": [\(batch.tokens[(row * T)..<((row + 1) * T)].map(String.init).joined(separator: ", "))], \"reward\": \(values[row])}"
        }
        let dir = out.appendingPathComponent("reward")
        try Checkpoint.save(reward, to: dir)
        try trained.tokenizer.write(to: dir)
        try Data(("[\n  " + rows.joined(separator: ",\n  ") + "\n]\n").utf8).write(to: dir.appendingPathComponent("rewards.json"))
    }
}
