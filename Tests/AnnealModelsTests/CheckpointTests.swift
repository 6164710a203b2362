import AnnealCompute
import AnnealModels
import Foundation
import Testing

let tinyConfig = GPTConfig(vocabSize: 32, contextLength: 8, width: 16, layers: 2, heads: 2, dropout: 0.1)

func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("anneal-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
    try? FileManager.default.removeItem(at: url)
    return url
}

/// `steps` AdamW steps on fixed random tokens with dropout; returns the optimizer.
func train(_ model: GPT, steps: Int, rng: inout RNG, optimizer: inout AdamW, from start: Int = 0) {
    let tape = Tape()
    var data = RNG(seed: 77)
    let B = 2, T = tinyConfig.contextLength
    for step in start..<(start + steps) {
        data.counter = UInt64(step) * 100
        let tokens = (0..<(B * T)).map { _ in Int32(data.nextInt(below: tinyConfig.vocabSize)) }
        let targets = Array(tokens.dropFirst()) + [-100]
        tape.reset()
        model.params.zeroGrads()
        let loss = model.languageModelLoss(tape, tokens: tokens, targets: targets, batch: B,
                                           training: true, rng: &rng)
        tape.backward(loss)
        clipGradientNorm(model.params, maxNorm: 1)
        optimizer.update(model.params, lr: 1e-3)
    }
}

@Suite("checkpoints and determinism")
struct CheckpointTests {
    @Test func safetensorsRoundTripIsExactAndStable() throws {
        let a = Tensor(shape: [2, 3], values: [1, -2, 3.5, .pi, 0, -0])
        let b = Tensor(shape: [4], values: [1e-30, 7, 8, 9])
        let bytes = Safetensors.encode(["x.weight": a, "b": b], metadata: ["k": "v\"q"])
        let file = try Safetensors.decode(bytes, source: "mem")
        #expect(file.tensors["x.weight"]!.array == a.array && file.tensors["x.weight"]!.shape == [2, 3])
        #expect(file.tensors["b"]!.array == b.array)
        #expect(file.metadata == ["k": "v\"q"])
        #expect(Safetensors.encode(file.tensors, metadata: file.metadata) == bytes)
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0)
    }

    @Test func safetensorsRejectsDamagedFilesWithReasons() {
        let good = Safetensors.encode(["w": Tensor(shape: [2], values: [1, 2])])
        #expect(throws: ModelError(.format, "x.safetensors: not a valid safetensors file: 3 bytes is shorter than the 8-byte header length")) {
            _ = try Safetensors.decode(good.prefix(3), source: "x.safetensors")
        }
        #expect(throws: ModelError.self) { _ = try Safetensors.decode(good.dropLast(4), source: "x.safetensors") }
        let f16 = #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(f16.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(f16.utf8))
        data.append(contentsOf: [0, 0])
        #expect {
            _ = try Safetensors.decode(data, source: "half.safetensors")
        } throws: { error in
            (error as? ModelError)?.code == .unsupported
                && (error as? ModelError)?.message.contains("tensor 'h' has dtype F16") == true
        }
    }

    @Test func configRoundTripsThroughHuggingFaceKeys() throws {
        let data = try JSONEncoder().encode(tinyConfig)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["n_embd"] as? Int == 16 && object["n_layer"] as? Int == 2 && object["model_type"] as? String == "gpt2")
        #expect(try JSONDecoder().decode(GPTConfig.self, from: data) == tinyConfig)
    }

    @Test func sameSeedGivesByteIdenticalCheckpoint() throws {
        func run(_ name: String) throws -> Data {
            let model = try GPT(config: tinyConfig)
            var rng = RNG(seed: 1234)
            model.initializeWeights(rng: &rng)
            var opt = AdamW(for: model.params, weightDecay: 0.1)
            train(model, steps: 3, rng: &rng, optimizer: &opt)
            let dir = temporaryDirectory(name)
            try Checkpoint.save(model, to: dir)
            return try Data(contentsOf: dir.appendingPathComponent("model.safetensors"))
        }
        let first = try run("det-a"), second = try run("det-b")
        #expect(first == second)
        let model = try GPT(config: tinyConfig)
        var rng = RNG(seed: 1234)
        model.initializeWeights(rng: &rng)
        #expect(Safetensors.encode(["wte.weight": model.params["wte.weight"]]).count < first.count)
    }

    /// Anneal's own kernels give the same bits however their work is split (only OpenBLAS's
    /// thread count matters), so changing ComputeThreads.count cannot change a run.
    @Test func ownKernelsDoNotDependOnTheirThreadCount() throws {
        // Big enough that GELU, LayerNorm, softmax and cross-entropy really split (B·T = 128 rows).
        let config = GPTConfig(vocabSize: 96, contextLength: 32, width: 64, layers: 2, heads: 2, dropout: 0.1)
        func run(threads: Int) throws -> [Float] {
            let model = try GPT(config: config)
            var rng = RNG(seed: 21)
            let saved = ComputeThreads.count
            ComputeThreads.count = threads
            defer { ComputeThreads.count = saved }
            model.initializeWeights(rng: &rng)
            var opt = AdamW(for: model.params, weightDecay: 0.1)
            var data = RNG(seed: 22)
            let tokens = (0..<128).map { _ in Int32(data.nextInt(below: 96)) }
            let tape = Tape()
            for _ in 0..<2 {
                tape.reset()
                model.params.zeroGrads()
                let loss = model.languageModelLoss(tape, tokens: tokens, targets: Array(tokens.dropFirst()) + [-100],
                                                   batch: 4, training: true, rng: &rng)
                tape.backward(loss)
                opt.update(model.params, lr: 1e-3)
            }
            return model.params.values.array
        }
        #expect(try run(threads: 1) == run(threads: 3))
    }

    @Test func resumeFromOptimizerStateMatchesUninterruptedRun() throws {
        let straight = try GPT(config: tinyConfig)
        var rngA = RNG(seed: 9)
        straight.initializeWeights(rng: &rngA)
        var optA = AdamW(for: straight.params, weightDecay: 0.1)
        train(straight, steps: 4, rng: &rngA, optimizer: &optA)

        let first = try GPT(config: tinyConfig)
        var rngB = RNG(seed: 9)
        first.initializeWeights(rng: &rngB)
        var optB = AdamW(for: first.params, weightDecay: 0.1)
        train(first, steps: 2, rng: &rngB, optimizer: &optB)
        let dir = temporaryDirectory("resume")
        try Checkpoint.save(first, to: dir)
        let optURL = dir.appendingPathComponent("optimizer.safetensors")
        try Checkpoint.saveOptimizer(optB, state: .init(step: 2, rng: rngB), to: optURL)

        let resumed = try Checkpoint.load(from: dir)
        var optC = AdamW(for: resumed.params, weightDecay: 0.1)
        let state = try Checkpoint.loadOptimizer(&optC, from: optURL)
        #expect(state.step == 2 && state.rng == rngB && optC.step == 2)
        var rngC = state.rng
        train(resumed, steps: 2, rng: &rngC, optimizer: &optC, from: state.step)
        #expect(resumed.params.values.array == straight.params.values.array)
    }

    @Test func loadReportsEveryMismatchPrecisely() throws {
        let dir = temporaryDirectory("mismatch")
        let model = try GPT(config: tinyConfig)
        try Checkpoint.save(model, to: dir)
        var tensors = try Safetensors.read(dir.appendingPathComponent("model.safetensors")).tensors
        tensors["h.1.mlp.c_fc.weight"] = Tensor(zeros: [16, 32])
        tensors.removeValue(forKey: "ln_f.bias")
        tensors["h.9.extra"] = Tensor(zeros: [2])
        try Safetensors.write(tensors, to: dir.appendingPathComponent("model.safetensors"))
        #expect {
            _ = try Checkpoint.load(from: dir)
        } throws: { error in
            let e = error as! ModelError
            return e.code == .mismatch
                && e.message.contains("tensor 'h.1.mlp.c_fc.weight' has shape [16, 32], the model expects [16, 64]")
                && e.message.contains("missing tensor 'ln_f.bias' [16]")
                && e.message.contains("unexpected tensor 'h.9.extra' [2]")
        }
    }

    @Test func invalidConfigSaysWhatToChange() {
        #expect(throws: ModelError(.invalidConfig, "n_embd 30 is not divisible by n_head 4")) {
            _ = try GPT(config: GPTConfig(vocabSize: 8, contextLength: 4, width: 30, layers: 1, heads: 4))
        }
    }

    @Test func loraMergeMatchesAdapterPathAndUnmergeRestores() throws {
        var model = try Checkpoint.load(from: fixturesDirectory.appendingPathComponent("gpt_lora_score"))
        let tokens: [Int32] = [3, 9, 27, 1, 5, 60, 2, 2]
        func logits(_ m: GPT) -> Tensor {
            let tape = Tape(recordsGradients: false)
            var rng = RNG(seed: 0)
            return tape.value(m.logits(tape, hidden: m.hidden(tape, tokens: tokens, batch: 1, rng: &rng)))
        }
        let before = logits(model), weightsBefore = model.params.values.array
        var lora = model.lora!
        lora.merge(into: model)
        model.lora = lora
        #expect(relativeError(logits(model), before) < 1e-5)
        lora.unmerge(from: model)
        model.lora = lora
        let restored = Tensor(shape: [weightsBefore.count], values: weightsBefore)
        #expect(relativeError(model.params.values, restored) < 1e-6)

        let dir = temporaryDirectory("adapters")
        try Checkpoint.saveAdapters(lora, to: dir)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter_model.safetensors").path))

        // A merged model saves as a plain model whose logits are the adapted ones.
        lora.merge(into: model)
        model.lora = lora
        let export = temporaryDirectory("merged-export")
        try Checkpoint.save(model, to: export)
        #expect(!FileManager.default.fileExists(atPath: export.appendingPathComponent("adapter_model.safetensors").path))
        let exported = try Checkpoint.load(from: export)
        #expect(exported.lora == nil)
        #expect(relativeError(logits(exported), before) < 1e-5)
        #expect(throws: ModelError.self) {
            _ = try LoRA(config: LoRAConfig(rank: 2, alpha: 4, targets: ["c_atn"]), model: model.config)
        }
    }

    /// With ANNEAL_EXPORT_DIR set, writes a trained checkpoint plus the logits Anneal computes
    /// for it, for `make_gpt_fixture.py --check DIR` to reproduce in PyTorch.
    @Test func exportForPyTorchCheck() throws {
        guard let path = ProcessInfo.processInfo.environment["ANNEAL_EXPORT_DIR"] else { return }
        let model = try GPT(config: tinyConfig)
        var rng = RNG(seed: 5)
        model.initializeWeights(rng: &rng)
        var opt = AdamW(for: model.params, weightDecay: 0.1)
        train(model, steps: 5, rng: &rng, optimizer: &opt)
        let dir = URL(fileURLWithPath: path)
        try Checkpoint.save(model, to: dir)
        let tokens: [Int32] = (0..<16).map { Int32(($0 * 7) % tinyConfig.vocabSize) }
        let tape = Tape(recordsGradients: false)
        let l = model.logits(tape, hidden: model.hidden(tape, tokens: tokens, batch: 2, rng: &rng))
        try Safetensors.write(["tokens": Tensor(shape: [2, 8], values: tokens.map(Float.init)), "logits": tape.value(l)],
                              to: dir.appendingPathComponent("logits.safetensors"))
    }
}
