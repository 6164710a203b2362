import Foundation
import AnnealCompute
import AnnealModels

/// One sampled answer: the prompt's ids (the chat template up to `<|assistant|>`), the
/// response's ids and whether it closed with the stop token (else it hit max_new_tokens).
public struct Rollout: Sendable, Equatable {
    public var prompt: [Int32]
    public var response: [Int32]
    public var ended: Bool

    public init(prompt: [Int32], response: [Int32], ended: Bool) {
        self.prompt = prompt
        self.response = response
        self.ended = ended
    }

    public var sequence: [Int32] { prompt + response }
}

public enum PPORollout {
    /// Samples one response per prompt from `policy` (KV-cached, batched; every draw from
    /// `rng` in prompt order, so the same state gives the same responses). A response that
    /// came back empty (the context was full) gets no rollout, so callers cut prompts to
    /// leave room for `options.maxTokens`.
    public static func rollout(_ policy: GPT, prompts: [[Int32]], options: SamplingOptions, rng: inout RNG) -> [Rollout] {
        let responses = policy.generate(prompts: prompts, options: options, rng: &rng)
        return zip(prompts, responses).map { prompt, response in
            Rollout(prompt: prompt, response: response, ended: response.last.map(options.stopTokens.contains) ?? false)
        }
    }

    /// The reward model's score of each rollout, read at its last token (the closing
    /// `<|end|>` the reward model was trained to judge at), in batches of `batchSize`.
    public static func scores(_ rewardModel: GPT, _ rollouts: [Rollout], pad: Int32, batchSize: Int) -> [Float] {
        let tape = Tape(recordsGradients: false)
        var unused = RNG(seed: 0)
        var out: [Float] = []
        for start in stride(from: 0, to: rollouts.count, by: batchSize) {
            let chunk = rollouts[start..<min(start + batchSize, rollouts.count)].map(\.sequence)
            let T = chunk.map(\.count).max() ?? 1
            let tokens = chunk.flatMap { $0 + [Int32](repeating: pad, count: T - $0.count) }
            tape.reset()
            let h = rewardModel.hidden(tape, tokens: tokens, batch: chunk.count, rng: &unused)
            out += tape.value(rewardModel.scalar(tape, hidden: h, lastIndices: chunk.map { $0.count - 1 })).array
        }
        return out
    }
}

/// Rollouts as one padded batch for a forward pass: inputs [B·T], next-token targets that
/// are the response tokens (-100 on the prompt and padding), and for each row the flat
/// positions that predict its response tokens, in order — where log π(a_t), V(s_t) and the
/// per-token rewards of that rollout live.
public struct PPOBatch: Sendable, Equatable {
    public var tokens: [Int32]
    public var targets: [Int32]
    public var rows: Int
    public var positions: [[Int]]

    public init(_ rollouts: [Rollout], pad: Int32) {
        let sequences = rollouts.map(\.sequence)
        let T = max(1, (sequences.map(\.count).max() ?? 2) - 1)
        tokens = []
        targets = []
        positions = []
        rows = rollouts.count
        for (b, r) in rollouts.enumerated() {
            let s = r.sequence, n = s.count - 1
            for t in 0..<T {
                tokens.append(t < n ? s[t] : pad)
                targets.append(t < n && t + 1 >= r.prompt.count ? s[t + 1] : -100)
            }
            positions.append(((r.prompt.count - 1)..<n).map { b * T + $0 })
        }
    }

    /// 1 at every response position, 0 elsewhere [B·T].
    public var mask: [Float] { targets.map { $0 == -100 ? 0 : 1 } }

    /// Per-rollout values spread back onto the flat [B·T] layout (0 elsewhere).
    public func scatter(_ perRollout: [[Float]]) -> [Float] {
        var out = [Float](repeating: 0, count: tokens.count)
        for (ps, vs) in zip(positions, perRollout) { for (p, v) in zip(ps, vs) { out[p] = v } }
        return out
    }

    /// The flat [B·T] `values` gathered per rollout.
    public func gather(_ values: [Float]) -> [[Float]] { positions.map { $0.map { values[$0] } } }
}

public enum PPOForward {
    /// One pass of `model` (a policy with a value head, or the reference without) over
    /// `batch`: log π of every target [B·T] (0 off the responses), the value head at every
    /// position [B·T] when the model has one, and the policy's entropy at each response
    /// position (for the `entropy` metric; not differentiated). `temperature` divides the
    /// logits, as the rollouts were sampled (TRL does the same): π is then the distribution the
    /// actions came from, so the first epoch's ratios are 1 and the KL is the sampled policy's.
    public static func evaluate(_ tape: Tape, model: GPT, batch: PPOBatch, training: Bool = false, temperature: Float = 1,
                                rng: inout RNG) -> (logProbs: Var, values: Var?, entropy: [Float]) {
        let h = model.hidden(tape, tokens: batch.tokens, batch: batch.rows, training: training, rng: &rng)
        let raw = model.logits(tape, hidden: h)
        let logits = temperature == 1 ? raw : tape.scale(raw, 1 / temperature)
        let logProbs = tape.logProbs(logits, tokens: batch.targets)
        let values = model.hasScalarHead ? model.scalarPerToken(tape, hidden: h) : nil
        let L = tape.value(logits)
        let V = L.lastDim
        var entropy: [Float] = []
        for ps in batch.positions {
            for p in ps {
                let row = L.pointer + p * V
                var top = row[0]
                for j in 1..<V where row[j] > top { top = row[j] }
                var z = 0.0, weighted = 0.0
                for j in 0..<V {
                    let e = Double(expf(row[j] - top))
                    z += e
                    weighted += e * Double(row[j] - top)
                }
                entropy.append(Float(Foundation.log(z) - weighted / z))
            }
        }
        return (logProbs, values, entropy)
    }
}

/// Which prompts and rollouts go where: pure functions of (seed, iteration, epoch), so a
/// resumed run draws exactly what an uninterrupted one would.
public enum PPOBatching {
    /// The prompts of `iteration`: `count` indices into `promptCount`, walking a fresh
    /// permutation per pass over the prompts (SFT's row order).
    public static func prompts(iteration: Int, count: Int, promptCount: Int, seed: UInt64) -> [Int] {
        SFTBatching.rowIndices(step: iteration, batchSize: count, rowCount: promptCount, seed: seed)
    }

    /// The rollouts of one PPO epoch split into minibatches of `size` (the last may be short).
    public static func minibatches(rollouts n: Int, size: Int, iteration: Int, epoch: Int, seed: UInt64) -> [[Int]] {
        // A seed of their own, so these streams never meet the prompt order's (stream e + 1).
        let order = SFTBatching.permutation(n, seed: seed ^ 0x9E37_79B9_7F4A_7C15, stream: UInt64(iteration) &* 64 &+ UInt64(epoch))
        return stride(from: 0, to: n, by: size).map { Array(order[$0..<min($0 + size, n)]) }
    }
}
