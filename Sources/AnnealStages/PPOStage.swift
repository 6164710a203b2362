import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import AnnealTrain
import Foundation

/// `ppo`: RLHF of an SFT policy against a reward model with PPO (Ouyang et al. 2022, TRL's
/// formulas): each iteration samples `samples_per_prompt` responses per prompt, scores them,
/// optionally subtracts each prompt's leave-one-out mean score (RLOO's baseline), turns the
/// score and the per-token KL to the frozen reference (the input policy) into rewards,
/// estimates advantages with GAE and a value head on the policy's trunk (or, without a critic,
/// as the reward-to-go), then runs `ppo_epochs` passes of clipped-surrogate (+ clipped-value)
/// updates over minibatches — with `ptx` > 0 plus an SFT loss on the minibatch prompts' reference
/// answers (PPO-ptx, on the prompts' own answers) and, with the `replay` input, a next-token loss
/// on pretraining windows (InstructGPT's PPO-ptx proper: it keeps what only the corpus taught,
/// the held-out facts, from drifting). Outputs `model` like sft's (the value head is dropped).
/// No dropout: ρ must be 1 before the first update.
struct PPOStage: BuiltinStage {
    struct Parameters: StageParameters {
        var method = "full"
        var lora = LoRAParameters()
        var merge = true
        var blockSize = 128
        var valShare = 0.1
        var rollouts = 64
        var samplesPerPrompt = 1
        var baseline = "none"
        var advantage = "gae"
        var temperature = 1.0
        var topK = 0
        var topP = 1.0
        var maxNewTokens = 40
        var missingEOSPenalty = 2.0
        var beta = 0.1
        var targetKL = 0.0
        var klHorizon = 10_000.0
        var gamma = 1.0
        var lambda = 0.95
        var clipRange = 0.2
        var valueClipRange = 0.2
        var vfCoef = 0.1
        var ppoEpochs = 4
        var ratioThreshold = 10.0
        var valueHead = "reward"
        var scoreNorm = true
        var ptx = 0.0
        var replayRatio = 1.0
        var replayBatch = 8
        var optimizer = OptimizerParameters(batchSize: 32, learningRate: 5e-5, minLR: 5e-6, warmupIters: 2, maxIters: 40,
                                            weightDecay: 0.0, evalInterval: 10, checkpointInterval: 10)

        static var parameters: [Param<Self>] {
            [
                Param("method", \.method, allowed: ["full", "lora"], summary: "train every weight, or LoRA adapters only (the value head always)"),
            ] + LoRAParameters.prefixed(\.lora) + [
                Param("merge", \.merge, summary: "LoRA: fold the adapters into the output weights (else saved beside them)"),
                Param("block_size", \.blockSize, bounds: .atLeast(2), summary: "prompt + response tokens; at most the model's context"),
                Param("val_share", \.valShare, bounds: .from(0, below: 1), summary: "share of prompts held out for val_reward_mean"),
                Param("rollouts", \.rollouts, bounds: .atLeast(1), summary: "responses sampled per iteration (rollouts / samples_per_prompt prompts)"),
                Param("samples_per_prompt", \.samplesPerPrompt, bounds: .atLeast(1), summary: "responses sampled per prompt in an iteration; divides rollouts"),
                Param("baseline", \.baseline, allowed: ["none", "leave_one_out"],
                      summary: "leave_one_out: subtract the mean score of the prompt's other samples from each score (RLOO; samples_per_prompt ≥ 2)"),
                Param("advantage", \.advantage, allowed: ["gae", "reward_to_go"],
                      summary: "gae: GAE(γ, λ) with the value head as critic; reward_to_go: no critic, the value head is not trained"),
                Param("temperature", \.temperature, bounds: .greaterThan(0), summary: "sampling temperature of the rollouts"),
                Param("top_k", \.topK, bounds: .atLeast(0), summary: "sample among the k likeliest tokens; 0 = all"),
                Param("top_p", \.topP, bounds: .from(0, below: 1.0000001), summary: "nucleus sampling; 1 = all"),
                Param("max_new_tokens", \.maxNewTokens, bounds: .atLeast(1), summary: "response length cap; above the longest SFT answer"),
                Param("missing_eos_penalty", \.missingEOSPenalty, bounds: .atLeast(0), summary: "subtracted from the score of a response cut at max_new_tokens"),
                Param("beta", \.beta, bounds: .atLeast(0), summary: "KL penalty coefficient β (initial value when target_kl > 0)"),
                Param("target_kl", \.targetKL, bounds: .atLeast(0), summary: "adapt β toward this KL per response (nats); 0 = fixed β"),
                Param("kl_horizon", \.klHorizon, bounds: .greaterThan(0), summary: "responses over which the adaptive β moves by at most 20%"),
                Param("gamma", \.gamma, bounds: .from(0, below: 1.0000001), summary: "GAE discount γ"),
                Param("lambda", \.lambda, bounds: .from(0, below: 1.0000001), summary: "GAE λ"),
                Param("clip_range", \.clipRange, bounds: .greaterThan(0), summary: "ε of the clipped ratio"),
                Param("value_clip_range", \.valueClipRange, bounds: .greaterThan(0), summary: "ε of the clipped value"),
                Param("vf_coef", \.vfCoef, bounds: .atLeast(0), summary: "weight of the value loss"),
                Param("ppo_epochs", \.ppoEpochs, bounds: .atLeast(1), summary: "passes over each iteration's rollouts"),
                Param("ratio_threshold", \.ratioThreshold, bounds: .greaterThan(1), summary: "skip a minibatch whose mean ratio π/π_old exceeds this"),
                Param("value_head", \.valueHead, allowed: ["reward", "new"], summary: "start the value head from the reward model's head, or from small random weights"),
                Param("score_norm", \.scoreNorm, summary: "divide scores by their spread over the SFT model's held-out answers, so beta means the same for any reward model"),
                Param("ptx", \.ptx, bounds: .atLeast(0),
                      summary: "weight of an SFT loss on the minibatch prompts' reference answers (the prompts' `answer` field) added to each update (PPO-ptx); 0 = plain PPO"),
                Param("replay_ratio", \.replayRatio, bounds: .atLeast(0),
                      summary: "weight of a next-token loss on replay_batch pretraining windows of block_size added to each update (with the replay input)"),
                Param("replay_batch", \.replayBatch, bounds: .atLeast(1),
                      summary: "pretraining windows per micro-batch, so per update without gradient accumulation (with the replay input)"),
            ] + OptimizerParameters.lifted(\.optimizer, batch: "rollouts", stepsNote: ": PPO iterations (rollout rounds); warmup_iters, eval_interval and checkpoint_interval count them too")
        }

        static func problems(_ p: Self, context: ParamContext) -> [ParamProblem] {
            var out = p.optimizer.problems
            if let problem = ModelChecks.contextProblem(blockSize: p.blockSize, input: "policy", context: context) { out.append(problem) }
            if p.maxNewTokens >= p.blockSize {
                out.append(ParamProblem("max_new_tokens", "\(p.maxNewTokens) leaves no room for the prompt in block_size \(p.blockSize)",
                                        hint: "use less than \(p.blockSize)"))
            }
            if p.rollouts % p.samplesPerPrompt != 0 {
                out.append(ParamProblem("samples_per_prompt", "\(p.samplesPerPrompt) does not divide rollouts \(p.rollouts)",
                                        hint: "use a divisor of rollouts, or change rollouts to a multiple of it"))
            }
            if p.baseline == "leave_one_out", p.samplesPerPrompt < 2 {
                out.append(ParamProblem("baseline", "leave_one_out needs other samples of the same prompt; samples_per_prompt is \(p.samplesPerPrompt)",
                                        hint: "set samples_per_prompt to 2 or more, or baseline: none"))
            }
            if p.optimizer.batchSize > p.rollouts {
                out.append(ParamProblem("batch_size", "\(p.optimizer.batchSize) is more than the \(p.rollouts) rollouts of an iteration",
                                        hint: "use at most rollouts"))
            }
            return out
        }
    }

    static let schema = StageSchema(
        name: "ppo", version: "2", summary: "RLHF: PPO of an SFT policy against a reward model with a KL penalty to the SFT model",
        inputs: ["policy", "reward", "prompts", "tokenizer"], optionalInputs: ["replay"], outputs: ["model"],
        params: Parameters.specs, threads: 2, headline: ["reward_mean", "kl", "val_reward_mean"],
        validate: Parameters.validator)

    /// What the loop carries besides weights and optimizer (the resume checkpoint's `extra`).
    struct LoopState: Codable, Equatable {
        var iteration = 0
        var kl: KLController
        var skipped = 0
    }

    static func run(_ ctx: StageContext) throws {
        // config
        let p = try ctx.parameters(Parameters.self)
        let tokenizerDir = URL(fileURLWithPath: try ctx.input("tokenizer"))
        let tokenizer = try BPETokenizer.load(contentsOf: tokenizerDir)
        let loaded = try Checkpoint.load(from: URL(fileURLWithPath: try ctx.input("policy")))
        let rewardModel = try Checkpoint.load(from: URL(fileURLWithPath: try ctx.input("reward")))
        for (name, model) in [("policy", loaded), ("reward", rewardModel)] {
            if let problem = FineTuneModel.vocabularyProblem(model: model.config, tokenizerVocabulary: tokenizer.vocabSize) {
                throw StageFailure("input '\(name)': \(problem)")
            }
        }
        guard rewardModel.hasScalarHead else {
            throw StageFailure("input 'reward' has no scalar head (score.weight); connect a reward stage's model")
        }
        let T = p.blockSize
        guard T <= loaded.config.contextLength, T <= rewardModel.config.contextLength else {
            throw StageFailure("block_size \(T) is longer than the context of the policy (\(loaded.config.contextLength)) or reward model (\(rewardModel.config.contextLength)); use at most \(min(loaded.config.contextLength, rewardModel.config.contextLength))")
        }
        guard let end = tokenizer.id(ofSpecial: ChatTemplate.end), ChatTemplate.isSupported(by: tokenizer) else {
            throw StageFailure("the tokenizer lacks the chat template's special tokens (\(ChatTemplate.specialTokens.joined(separator: " "))); train it with them")
        }
        let seed = UInt64(bitPattern: Int64(ctx.seed))
        let options = SamplingOptions(temperature: Float(p.temperature), topK: p.topK > 0 ? p.topK : nil,
                                      topP: p.topP < 1 ? Float(p.topP) : nil, maxTokens: p.maxNewTokens, stopTokens: [Int32(bitPattern: end)])
        let pad = Int32(bitPattern: tokenizer.id(ofSpecial: ChatTemplate.endOfText) ?? 0)
        let temperature = Float(p.temperature)

        // data: prompts through the chat template, cut to leave room for the response
        var encoder = BPEEncoder(tokenizer)
        let lines = try readPrompts(try ctx.input("prompts"))
        let prompts = lines.map { Array(ChatExam.prompt($0.prompt, encoder: &encoder).suffix(T - p.maxNewTokens)) }
        let split = HeldOutSplit.indices(count: prompts.count, fraction: p.valShare, seed: seed)
        let train = split.train.map { prompts[$0] }, validation = split.validation.map { prompts[$0] }
        // PPO-ptx: each training prompt with its reference answer, as SFT encodes it
        let references = try p.ptx > 0 ? split.train.map { try referenceExample(lines[$0], blockSize: T, encoder: &encoder) } : []
        let replay = try ReplayInput.load(ctx, tokenizerVocabulary: tokenizer.vocabSize, blockSize: T)
        let replayWeight = replay == nil ? 0 : Float(p.replayRatio)
        let B = p.optimizer.batchSize, accumulation = p.optimizer.gradientAccumulationSteps
        let minibatches = (p.rollouts + B - 1) / B
        let updates = p.ppoEpochs * minibatches
        var stepPlan = p.optimizer
        stepPlan.warmupIters *= updates
        let plan = stepPlan.plan(iterations: p.optimizer.maxIters * updates, tokensPerStep: B * T)
        let iterations = p.optimizer.maxIters
        let loop = p.optimizer.plan(iterations: iterations, tokensPerStep: p.rollouts * T)  // eval and checkpoint decisions
        let k = p.samplesPerPrompt, criticFree = p.advantage == "reward_to_go"
        ctx.log("\(prompts.count) prompts: \(train.count) for rollouts, \(validation.count) held out; \(iterations) iterations of \(p.rollouts) rollouts (\(p.rollouts / k) prompts × \(k)), \(updates) updates each")

        // models: the policy with a value head, the frozen reference, the reward model
        var rng = RNG(seed: seed)                 // value head and adapters
        var sampling = RNG(seed: seed, stream: 1) // rollouts
        let reference = try FineTuneModel.prepare(loaded, dropout: 0, scalarHead: false, rng: &rng)
        let baseline = validation.isEmpty ? []
            : greedyScores(reference, rewardModel: rewardModel, prompts: validation, options: options, pad: pad).scores
        let scoreScale = p.scoreNorm ? Self.scoreScale(baseline) : 1
        var model = try FineTuneModel.prepare(loaded, dropout: 0, scalarHead: true, rng: &rng)
        if p.valueHead == "reward" { try startValueHead(of: model, from: rewardModel, scale: scoreScale) }
        if p.method == "lora" { try model.attachLoRA(p.lora.config, rng: &rng) }
        let resolved = TrainConfig(stage: "ppo", seed: ctx.seed, params: ParameterRecord(p), model: model.config, iterations: iterations)
        func optimizer(_ m: GPT) -> TrainingOptimizer { p.optimizer.optimizer(m, plan: plan) }
        var opt = optimizer(model)
        var state = LoopState(kl: KLController(beta: p.beta, target: p.targetKL > 0 ? p.targetKL : nil, horizon: p.klHorizon))
        let resume = StageResume.state(ctx)
        if let resumed = try StageResume.restore(resume, config: resolved.canonical, optimizer: optimizer,
                                                 model: &model, opt: &opt, rng: &rng, dataRNG: &sampling) {
            guard let extra = resumed.extra, let s = try? JSONDecoder().decode(LoopState.self, from: Data(extra.utf8)) else {
                throw StageFailure("the resume checkpoint in \(ctx.stateDirectory ?? "") lacks PPO's loop state; delete it to start over")
            }
            state = s
            ctx.log("resumed from iteration \(s.iteration)")
        }

        // the loop: eval → rollouts → score → rewards and advantages → PPO epochs → report → checkpoint
        var validated: [String: Double] = [:]
        if p.scoreNorm { ctx.log("scores divided by \(scoreScale), their spread over the SFT model's answers to the held-out prompts") }
        while true {
            if loop.evaluates(before: state.iteration), !validation.isEmpty {
                validated = evaluate(policy: model, reference: reference, rewardModel: rewardModel, prompts: validation,
                                     baseline: baseline, options: options, pad: pad)
                ctx.report(step: state.iteration, total: iterations, metrics: validated)
            }
            if state.iteration == iterations { break }
            let started = DispatchTime.now().uptimeNanoseconds
            let it = state.iteration
            let promptIndices = PPOBatching.prompts(iteration: it, count: p.rollouts / k, promptCount: train.count, seed: seed)
                .flatMap { Array(repeating: $0, count: k) }  // rollout i answers train[promptIndices[i]]
            let batchPrompts = promptIndices.map { train[$0] }
            let rollouts = PPORollout.rollout(model, prompts: batchPrompts, options: options, rng: &sampling)
            let scores = zip(PPORollout.scores(rewardModel, rollouts, pad: pad, batchSize: B), rollouts).map {
                ($1.ended ? $0 : $0 - Float(p.missingEOSPenalty)) / scoreScale
            }
            let finalRewards = p.baseline == "leave_one_out" ? PPOAdvantages.leaveOneOut(scores, group: k) : scores
            let experience = Experience(policy: model, reference: reference, rollouts: rollouts, scores: scores, finalRewards: finalRewards,
                                        temperature: temperature, beta: Float(state.kl.beta), gamma: Float(p.gamma), lambda: Float(p.lambda),
                                        criticFree: criticFree, pad: pad, batchSize: B)
            var metrics = experience.metrics
            try checkFinite(metrics, iteration: it + 1)

            var clipFraction = 0.0, approxKL = 0.0, valueLoss = 0.0, policyLoss = 0.0, ptxLoss = 0.0, replayLoss = 0.0, replayTokens = 0, skippedNow = 0, done = 0
            let tape = Tape()
            for epoch in 0..<p.ppoEpochs {
                for (mbIndex, mb) in PPOBatching.minibatches(rollouts: rollouts.count, size: B, iteration: it, epoch: epoch, seed: seed).enumerated() {
                    opt.zeroGrads()
                    let micro = mb.chunked(max(1, (mb.count + accumulation - 1) / accumulation))
                    let kept = mb.reduce(0) { $0 + rollouts[$1].response.count }
                    var stats = (clip: 0.0, kl: 0.0, ratio: 0.0, value: 0.0, policy: 0.0, ptx: 0.0, replay: 0.0)
                    for (partIndex, part) in micro.enumerated() {
                        let batch = PPOBatch(part.map { rollouts[$0] }, pad: pad)
                        let share = Double(part.reduce(0) { $0 + rollouts[$1].response.count }) / Double(kept)
                        tape.reset()
                        var unused = RNG(seed: 0)
                        let f = PPOForward.evaluate(tape, model: model, batch: batch, temperature: temperature, rng: &unused)
                        let mask = batch.mask
                        let pg = PPOLoss.ppoLoss(tape, logProbs: f.logProbs, oldLogProbs: batch.scatter(part.map { experience.logProbs[$0] }),
                                                 advantages: batch.scatter(part.map { experience.advantages[$0] }), mask: mask,
                                                 clip: Float(p.clipRange))
                        let vf = PPOLoss.valueLoss(tape, values: f.values!, oldValues: batch.scatter(part.map { experience.values[$0] }),
                                                   returns: batch.scatter(part.map { experience.returns[$0] }), mask: mask,
                                                   clip: Float(p.valueClipRange))
                        // PPO-ptx: the reference answers of this part's prompts (each once), rows as long as the longest
                        var sft: Var?
                        if p.ptx > 0 {
                            let examples = Set(part.map { promptIndices[$0] }).sorted().map { references[$0] }
                            let width = examples.map { $0.ids.count - 1 }.max() ?? 1
                            let rows = SFTBatching.rows(examples, blockSize: width, pad: pad, layout: .padding)
                            let b = SFTBatching.batch(rows, Array(rows.indices))
                            let lp = model.tokenLogProbs(tape, tokens: b.tokens, targets: b.targets, batch: b.rows, rng: &unused)
                            sft = PPOLoss.ptxLoss(tape, logProbs: lp, kept: b.targetCount)
                        }
                        // Without a critic the value head stays out of the loss: its gradient would bend the shared trunk.
                        var loss = PPOLoss.total(tape, policy: pg.loss, value: criticFree ? nil : vf, vfCoef: Float(p.vfCoef),
                                                 sft: sft, ptx: Float(p.ptx))
                        if let replay, replayWeight > 0 {
                            let update = ((it * p.ppoEpochs + epoch) * minibatches + mbIndex) * accumulation + partIndex
                            let w = ReplayInput.windows(replay, count: p.replayBatch, block: T, update: UInt64(update), seed: seed)
                            let lm = model.languageModelLoss(tape, tokens: w.inputs, targets: w.targets, batch: p.replayBatch, training: false, rng: &unused)
                            stats.replay += Double(tape.value(lm)[0]) * share
                            replayTokens += p.replayBatch * T
                            loss = tape.add(loss, tape.scale(lm, replayWeight))
                        }
                        tape.backward(loss, seed: Float(share))
                        if let sft { stats.ptx += Double(tape.value(sft)[0]) * share }
                        stats.clip += pg.stats.clipFraction * share
                        stats.kl += pg.stats.approxKL * share
                        stats.ratio += pg.stats.meanRatio * share
                        stats.value += Double(tape.value(vf)[0]) * share
                        stats.policy += Double(tape.value(pg.loss)[0]) * share
                    }
                    guard [stats.clip, stats.kl, stats.ratio, stats.value, stats.policy, stats.ptx, stats.replay].allSatisfy(\.isFinite) else {
                        throw StageFailure("the PPO loss is not finite at iteration \(it + 1) (epoch \(epoch + 1)); lower learning_rate, raise beta or set grad_clip")
                    }
                    if stats.ratio > p.ratioThreshold {
                        skippedNow += 1
                        ctx.log("warning: iteration \(it + 1) epoch \(epoch + 1): mean ratio \(stats.ratio) exceeds ratio_threshold \(p.ratioThreshold); minibatch skipped")
                        continue
                    }
                    _ = opt.step()
                    done += 1
                    clipFraction += stats.clip
                    approxKL += stats.kl
                    valueLoss += stats.value
                    policyLoss += stats.policy
                    ptxLoss += stats.ptx
                    replayLoss += stats.replay
                }
            }
            state.skipped += skippedNow
            state.kl.update(observedKL: metrics["kl"]!, responses: rollouts.count)
            state.iteration += 1
            let n = Double(max(done, 1))
            metrics.merge(["clip_fraction": clipFraction / n, "approx_kl": approxKL / n, "value_loss": valueLoss / n,
                           "policy_loss": policyLoss / n, "skipped_batches": Double(state.skipped), "beta": state.kl.beta,
                           "lr": Double(opt.schedule.rate(at: max(opt.stepsTaken - 1, 0)))]) { $1 }
            if p.ptx > 0 { metrics["ptx_loss"] = ptxLoss / n }
            if replayWeight > 0 { metrics["replay_loss"] = replayLoss / n }
            try checkFinite(metrics, iteration: state.iteration)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            metrics["tokens_per_s"] = Double(rollouts.reduce(0) { $0 + $1.sequence.count } * (1 + p.ppoEpochs) + replayTokens) / max(seconds, 1e-9)
            ctx.report(step: state.iteration, total: iterations, metrics: metrics)
            if loop.checkpoints(after: state.iteration), let resume {
                let extra = String(decoding: try JSONEncoder.sorted.encode(state), as: UTF8.self)
                try resume.save(model: model, optimizer: opt, rng: rng, dataRNG: sampling, config: resolved.canonical, extra: extra)
            }
        }

        // outputs: the policy without its value head
        var adapters = model.lora
        if p.merge, var lora = adapters {
            lora.merge(into: model)
            adapters = nil
        }
        var base = model
        base.lora = nil  // merged above, or kept beside the weights below
        var unused = RNG(seed: 0)
        var policy = try FineTuneModel.prepare(base, dropout: 0, scalarHead: false, rng: &unused)
        policy.lora = adapters
        try ModelOutput.write(ctx, policy, config: resolved, tokenizer: tokenizerDir)
        ctx.report(step: state.iteration, total: iterations, metrics: validated.merging(["skipped_batches": Double(state.skipped)]) { $1 })
    }

    /// The value head starts as the reward model's head (TRL starts its value model from the
    /// reward model): on the SFT trunk it already predicts roughly the score an answer will get.
    /// A new head of small random weights moves ~lr per Adam step, so at lr 5e-5 the trunk,
    /// shared with the policy, bent to fit the returns instead, and the policy drifted: on
    /// tinychat the rollouts' reward fell from 0.67 to about −0.2 within two iterations and
    /// did not recover in 40 (docs/alignment.md).
    /// `scale` is the scores' divisor (`score_norm`), so the head predicts scores as PPO sees them.
    static func startValueHead(of model: GPT, from rewardModel: GPT, scale: Float) throws {
        guard let to = model.params.index(of: "score.weight"), let from = rewardModel.params.index(of: "score.weight"),
              model.params.value(to).count == rewardModel.params.value(from).count else {
            throw StageFailure("value_head: reward needs a reward model as wide as the policy (\(rewardModel.config.width) against \(model.config.width)); set value_head: new")
        }
        let head = model.params.value(to)
        head.assign(rewardModel.params.value(from))
        for i in 0..<head.count { head.pointer[i] /= scale }
    }

    /// The standard deviation of the SFT model's scores (`research/ppo-feasibility.md` normalised
    /// the reward model's scores by their spread over SFT samples): tinychat's reward model
    /// spreads its scores ~4.4 wide, so an unscaled score outweighed β·KL about four times more
    /// than TRL's and the research's β assume (KL 12–17 nats at β 0.3; docs/alignment.md).
    /// 1 with fewer than two scores or no spread.
    static func scoreScale(_ scores: [Float]) -> Float {
        guard scores.count > 1 else { return 1 }
        let n = Double(scores.count), mean = scores.reduce(0.0) { $0 + Double($1) } / n
        let sd = (scores.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)).squareRoot()
        return sd.isFinite && sd > 1e-6 ? Float(sd) : 1
    }

    /// One line of the prompts file: the prompt, its reference answer when it has one, and where it is.
    struct PromptLine: Equatable {
        var prompt: String
        var answer: String?
        var file: String
        var line: Int
    }

    /// The `prompt` (and optional `answer`) field of each JSON line (tinyworld's prompts.jsonl,
    /// or any JSONL with them).
    static func readPrompts(_ path: String) throws -> [PromptLine] {
        let url = try DocumentInput.file(path, input: "prompts")
        let text = try String(contentsOf: url, encoding: .utf8)
        var out: [PromptLine] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard case .map(let m)? = Value.parseJSON(String(line)), let prompt = m["prompt"]?.stringValue, !prompt.isEmpty else {
                throw StageFailure("\(url.path):\(i + 1): expected a JSON object with a non-empty \"prompt\" string")
            }
            out.append(PromptLine(prompt: prompt, answer: m["answer"]?.stringValue, file: url.path, line: i + 1))
        }
        guard !out.isEmpty else { throw StageFailure("\(url.path): no prompts; connect tinyworld's prompts or a JSONL of {\"prompt\": …}") }
        return out
    }

    /// `line`'s prompt and reference answer through the chat template, cut to block_size + 1
    /// tokens, for PPO-ptx's SFT term; an error naming the line when it has no answer.
    static func referenceExample(_ line: PromptLine, blockSize: Int, encoder: inout BPEEncoder) throws -> SFTExample {
        guard let answer = line.answer, !answer.isEmpty else {
            throw StageFailure("\(line.file):\(line.line): ptx needs each prompt's reference answer in a non-empty \"answer\" string; add it or set ptx: 0")
        }
        let conversation = Conversation(messages: [.init(role: "user", content: line.prompt), .init(role: "assistant", content: answer)],
                                        file: line.file, line: line.line)
        do { return try SFTEncoding.encode(conversation, maxTokens: blockSize + 1, encoder: &encoder) }
        catch { throw StageFailure("\(error)") }
    }

    /// Greedy answers to `prompts` and the reward model's score of each.
    static func greedyScores(_ model: GPT, rewardModel: GPT, prompts: [[Int32]], options: SamplingOptions,
                             pad: Int32) -> (rollouts: [Rollout], scores: [Float]) {
        var greedy = options
        greedy.temperature = 0
        var unused = RNG(seed: 0)
        var rollouts: [Rollout] = []
        for chunk in prompts.chunked(32) { rollouts += PPORollout.rollout(model, prompts: chunk, options: greedy, rng: &unused) }
        return (rollouts, PPORollout.scores(rewardModel, rollouts, pad: pad, batchSize: 32))
    }

    /// Greedy answers to the held-out prompts: the reward model's mean score
    /// (`val_reward_mean`), the share of prompts where it beats the reference's greedy
    /// answer (`val_win_rate`, a tie counts half), the summed log-ratio to the reference
    /// (`val_kl`, nats per answer) and the answer length — at iteration 0 the SFT model's.
    static func evaluate(policy: GPT, reference: GPT, rewardModel: GPT, prompts: [[Int32]], baseline: [Float],
                         options: SamplingOptions, pad: Int32) -> [String: Double] {
        let (rollouts, scores) = greedyScores(policy, rewardModel: rewardModel, prompts: prompts, options: options, pad: pad)
        var unused = RNG(seed: 0)
        var kl = 0.0
        for chunk in rollouts.chunked(32) {
            let batch = PPOBatch(chunk, pad: pad)
            let tape = Tape(recordsGradients: false)
            let lp = tape.value(PPOForward.evaluate(tape, model: policy, batch: batch, rng: &unused).logProbs).array
            let ref = tape.value(PPOForward.evaluate(tape, model: reference, batch: batch, rng: &unused).logProbs).array
            kl += zip(lp, ref).reduce(0.0) { $0 + Double($1.0 - $1.1) }
        }
        let n = Double(rollouts.count)
        let wins = zip(scores, baseline).reduce(0.0) { $0 + ($1.0 > $1.1 ? 1 : $1.0 == $1.1 ? 0.5 : 0) }
        return ["val_reward_mean": scores.reduce(0.0) { $0 + Double($1) } / n, "val_win_rate": wins / n, "val_kl": kl / n,
                "val_response_length": Double(rollouts.reduce(0) { $0 + $1.response.count }) / n,
                "val_truncated": Double(rollouts.filter { !$0.ended }.count) / n]
    }

    /// NaN or Inf stops the stage naming the iteration, before a checkpoint could keep it.
    static func checkFinite(_ metrics: [String: Double], iteration: Int) throws {
        if let bad = metrics.sorted(by: { $0.key < $1.key }).first(where: { !$0.value.isFinite }) {
            throw StageFailure("\(bad.key) is \(bad.value) at iteration \(iteration); lower learning_rate, raise beta or set grad_clip")
        }
    }
}

/// One iteration's rollouts as PPO sees them before any update: log π_old, V_old, per-token
/// rewards (KL penalty + the final reward), advantages (GAE, or the reward-to-go without a critic;
/// whitened over the batch) and returns. `scores` give the reward metrics; `finalRewards` (the
/// scores less a per-prompt baseline, or the scores) go on the final token.
struct Experience {
    var logProbs: [[Float]]
    var values: [[Float]]
    var advantages: [[Float]]
    var returns: [[Float]]
    var metrics: [String: Double]

    init(policy: GPT, reference: GPT, rollouts: [Rollout], scores: [Float], finalRewards: [Float], temperature: Float, beta: Float,
         gamma: Float, lambda: Float, criticFree: Bool, pad: Int32, batchSize: Int) {
        var logProbs: [[Float]] = [], values: [[Float]] = [], referenceLogProbs: [[Float]] = [], entropy: [Float] = []
        var unused = RNG(seed: 0)
        let tape = Tape(recordsGradients: false)
        for chunk in rollouts.chunked(batchSize) {
            let batch = PPOBatch(chunk, pad: pad)
            tape.reset()
            let f = PPOForward.evaluate(tape, model: policy, batch: batch, temperature: temperature, rng: &unused)
            logProbs += batch.gather(tape.value(f.logProbs).array)
            values += batch.gather(tape.value(f.values!).array)
            entropy += f.entropy
            tape.reset()
            referenceLogProbs += batch.gather(tape.value(PPOForward.evaluate(tape, model: reference, batch: batch, temperature: temperature, rng: &unused).logProbs).array)
        }
        var advantages: [[Float]] = [], returns: [[Float]] = []
        var kls: [Double] = []
        for i in rollouts.indices {
            let r = PPOAdvantages.rewards(score: finalRewards[i], logProbs: logProbs[i], referenceLogProbs: referenceLogProbs[i], beta: beta)
            let (a, ret) = criticFree ? { let g = PPOAdvantages.rewardToGo(r, gamma: gamma); return (g, g) }()
                : PPOAdvantages.advantages(rewards: r, values: values[i], gamma: gamma, lambda: lambda)
            advantages.append(a)
            returns.append(ret)
            kls.append(zip(logProbs[i], referenceLogProbs[i]).reduce(0.0) { $0 + Double($1.0 - $1.1) })
        }
        let whitened = PPOAdvantages.whiten(advantages.flatMap { $0 })
        var k = 0
        for i in advantages.indices {
            for t in advantages[i].indices { advantages[i][t] = whitened[k]; k += 1 }
        }
        self.logProbs = logProbs
        self.values = values
        self.advantages = advantages
        self.returns = returns
        let n = Double(rollouts.count)
        let mean = scores.reduce(0.0) { $0 + Double($1) } / n
        let spread = (scores.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
        metrics = ["reward_mean": mean, "reward_std": spread, "kl": kls.reduce(0, +) / n,
                   "entropy": entropy.reduce(0.0) { $0 + Double($1) } / Double(max(entropy.count, 1)),
                   "response_length": Double(rollouts.reduce(0) { $0 + $1.response.count }) / n,
                   "truncated": Double(rollouts.filter { !$0.ended }.count) / n]
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
