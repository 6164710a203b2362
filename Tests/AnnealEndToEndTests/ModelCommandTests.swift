import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import Foundation
import Testing

/// A random tiny GPT (2 layers, width 16) and a BPE tokenizer trained on a few sentences,
/// written as a checkpoint directory the way a training stage leaves it.
enum TinyModel {
    static let sentences = [
        "The capital of Avalon is Kelm. The cat sat on the mat.",
        "Hello there, how are you today? I am fine, thank you.",
        "Numbers: 12, 345, 6789. Words and more words, all the words.",
    ]

    @discardableResult
    static func write(to dir: String, seed: UInt64 = 1, context: Int = 64, lora: Bool = false) throws -> (GPT, BPETokenizer) {
        var trainer = BPETrainer(BPETrainerConfig(vocabSize: 300, minFrequency: 1))
        trainer.add(Array(repeating: sentences, count: 4).flatMap { $0 })
        let tokenizer = try trainer.train()
        var model = try GPT(config: GPTConfig(vocabSize: tokenizer.vocabSize, contextLength: context, width: 16, layers: 2, heads: 2))
        var rng = RNG(seed: seed)
        model.initializeWeights(rng: &rng)
        // Larger embeddings than GPT-2's 0.02, so the next-token distribution is not flat.
        let wte = model.params["wte.weight"]
        for i in 0..<wte.count { wte[i] *= 25 }
        if lora {
            try model.attachLoRA(LoRAConfig(rank: 2, alpha: 4, targets: ["c_attn", "mlp.c_proj"]), rng: &rng)
            // A trained adapter is not zero: give B values so merging changes the weights.
            for i in 0..<model.lora!.params.entries.count { rng.fillNormal(model.lora!.params.value(i).pointer, count: model.lora!.params.value(i).count, std: 0.3) }
        }
        let url = URL(fileURLWithPath: dir)
        try Checkpoint.save(model, to: url)
        try tokenizer.write(to: url)
        return (model, tokenizer)
    }
}

extension Sandbox {
    /// Runs anneal with `input` on standard input (a pipe, not a terminal).
    func anneal(_ args: [String], input: String) -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let stdin = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = stdin
        p.standardOutput = out
        p.standardError = err
        try! p.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(code: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

func ints(_ v: Value?) -> [Int] { v?.listValue?.compactMap(\.intValue) ?? [] }

@Suite struct ModelCommandTests {
    @Test func greedyGenerateIsTheArgmaxOfAFullForwardPass() throws {
        let s = Sandbox()
        defer { s.remove() }
        let (model, tokenizer) = try TinyModel.write(to: s.dir + "/m")
        let r = s.anneal("generate", "m", "--prompt", "The cat", "--temperature", "0", "--max-tokens", "12", "--json")
        #expect(r.code == 0, "\(r.stderr)")
        let prompt = tokenizer.encode("The cat").map { Int32($0) }
        #expect(ints(r.json?["prompt_ids"]) == prompt.map(Int.init))
        // Reference: no KV cache, the whole sequence through the model at every step.
        var tokens = prompt, expected: [Int] = []
        var rng = RNG(seed: 0)
        while expected.count < 12 {
            let tape = Tape(recordsGradients: false)
            let logits = tape.value(model.logits(tape, hidden: model.hidden(tape, tokens: tokens, batch: 1, rng: &rng)))
            let V = model.config.vocabSize
            let last = Array(logits.array[((tokens.count - 1) * V)..<(tokens.count * V)])
            let next = last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!
            expected.append(next)
            tokens.append(Int32(next))
            if next == 0 { break }  // <|endoftext|> stops generate
        }
        #expect(ints(r.json?["ids"]) == expected)
        #expect(r.json?["text"]?.stringValue == tokenizer.decode(expected.filter { $0 != 0 }.map { UInt32($0) }))
        #expect(s.anneal("generate", "m", "--prompt", "The cat", "--temperature", "0", "--max-tokens", "12").stdout
            == (r.json?["text"]?.stringValue ?? "?") + "\n")
    }

    @Test func aSeedFixesTheSampledText() throws {
        let s = Sandbox()
        defer { s.remove() }
        try TinyModel.write(to: s.dir + "/m")
        let args = ["generate", "m", "--prompt", "Hello", "--temperature", "1.5", "--max-tokens", "20", "--json"]
        let a = s.anneal(args + ["--seed", "7"]), b = s.anneal(args + ["--seed", "7"]), c = s.anneal(args + ["--seed", "8"])
        #expect(a.code == 0 && !ints(a.json?["ids"]).isEmpty, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
        #expect(ints(a.json?["ids"]) != ints(c.json?["ids"]))
    }

    @Test func chatKeepsHistoryUntilReset() throws {
        let s = Sandbox()
        defer { s.remove() }
        try TinyModel.write(to: s.dir + "/m", context: 128)
        let flags = ["--temperature", "0", "--max-tokens", "6", "--json"]
        let r = s.anneal(["chat", "m"] + flags, input: "Hello there\nHow are you?\n/reset\n\nHello there\n")
        #expect(r.code == 0, "\(r.stderr)")
        let turns = r.stdout.split(separator: "\n").compactMap { Value.parseJSON(String($0)) }
        try #require(turns.count == 3, "\(r.stdout)")
        let sizes = turns.map { $0["prompt_tokens"]?.intValue ?? -1 }
        #expect(sizes[1] > sizes[0], "the second turn's prompt holds the first exchange")
        #expect(sizes[2] == sizes[0], "after /reset the prompt is the first one again")
        #expect(ints(turns[2]["ids"]) == ints(turns[0]["ids"]))
        #expect(turns.map { $0["turn"]?.intValue } == [1, 2, 3])
        // One shot: the same answer as the first turn; the plain form prints just the text.
        let once = s.anneal(["chat", "m", "--prompt", "Hello there"] + flags)
        #expect(once.code == 0 && ints(once.json?["ids"]) == ints(turns[0]["ids"]), "\(once.stderr)")
        let plain = s.anneal(["chat", "m", "--prompt", "Hello there", "--temperature", "0", "--max-tokens", "6"])
        #expect(plain.stdout == (turns[0]["text"]?.stringValue ?? "?") + "\n")
    }

    /// On a terminal, chat prints tokens as they come; the text must equal the piped answer.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func chatOnATerminalStreamsTheSameText() throws {
        let s = Sandbox()
        defer { s.remove() }
        try TinyModel.write(to: s.dir + "/m")
        let args = ["chat", "m", "--prompt", "Hello é ✓", "--temperature", "1", "--seed", "4", "--max-tokens", "30"]
        let piped = s.anneal(args)
        let command = ([Sandbox.binary] + args).map { "'\($0)'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", command, "/dev/null"]
        p.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let streamed = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        #expect(piped.code == 0 && p.terminationStatus == 0)
        #expect(streamed == piped.stdout && piped.stdout.count > 10)
    }

    @Test func chatDropsTheOldestExchangesWhenTheContextIsFull() throws {
        let s = Sandbox()
        defer { s.remove() }
        try TinyModel.write(to: s.dir + "/m", context: 40)
        let lines = Array(repeating: "Hello there, how are you today?", count: 5).joined(separator: "\n") + "\n"
        let r = s.anneal(["chat", "m", "--temperature", "0", "--max-tokens", "4", "--json"], input: lines)
        #expect(r.code == 0, "\(r.stderr)")
        let turns = r.stdout.split(separator: "\n").compactMap { Value.parseJSON(String($0)) }
        #expect(turns.count == 5)
        #expect(turns.allSatisfy { ($0["prompt_tokens"]?.intValue ?? 99) <= 40 })
        #expect((turns.last?["dropped_messages"]?.intValue ?? 0) > 0)
    }

    @Test func stageOutputsNameTheModelAndTheTokenizer() throws {
        let s = Sandbox()
        defer { s.remove() }
        try TinyModel.write(to: s.dir + "/ckpt")
        // A "training" stage whose model output holds no tokenizer, and a tokenizer stage.
        s.write("p.yaml", """
            name: m
            stages:
              train:
                run: sh -c 'cp ${inputs.src}/config.json ${inputs.src}/model.safetensors ${outputs.model}/'
                inputs: {src: {file: ckpt}}
                outputs: [model]
              tok:
                run: sh -c 'cp ${inputs.src}/tokenizer.anneal.json ${outputs.tokenizer}/'
                inputs: {src: {file: ckpt}}
                outputs: [tokenizer]

            """)
        let stale = s.anneal("generate", "train.model", "-p", "p.yaml", "--prompt", "Hi", "--tokenizer", "tok.tokenizer")
        #expect(stale.code == 1 && stale.stderr.contains("stage 'train' is stale"), "\(stale.stderr)")
        _ = s.run("p.yaml")
        let direct = s.anneal("generate", "ckpt", "--prompt", "Hi", "--temperature", "0", "--max-tokens", "5")
        let staged = s.anneal("generate", "train.model", "-p", "p.yaml", "--prompt", "Hi", "--tokenizer", "tok.tokenizer",
                              "--temperature", "0", "--max-tokens", "5")
        #expect(staged.code == 0 && staged.stdout == direct.stdout, "\(staged.stderr)")
        let noTokenizer = s.anneal("chat", "train.model", "-p", "p.yaml", "--prompt", "Hi")
        #expect(noTokenizer.code == 2 && noTokenizer.stderr.contains("no tokenizer in train.model (tokenizer.anneal.json or tokenizer.json); pass --tokenizer STAGE.OUTPUT|PATH"), "\(noTokenizer.stderr)")
        let typo = s.anneal("chat", "trian.model", "-p", "p.yaml", "--prompt", "Hi")
        #expect(typo.code == 2 && typo.stderr.contains("no stage 'trian' in p.yaml; did you mean 'train'?"), "\(typo.stderr)")
    }

    @Test func missingModelsAndBadOptionsAreUsageErrors() throws {
        let s = Sandbox()
        defer { s.remove() }
        let missing = s.anneal("chat", "no-such-model", "--prompt", "hi")
        #expect(missing.code == 2)
        #expect(missing.stderr.contains("error: no model at 'no-such-model': give a directory path or STAGE.OUTPUT"), "\(missing.stderr)")
        try FileManager.default.createDirectory(atPath: s.dir + "/empty", withIntermediateDirectories: true)
        let empty = s.anneal("generate", "empty", "--prompt", "hi")
        #expect(empty.code == 2 && empty.stderr.contains("empty is not a model directory: it has no config.json"), "\(empty.stderr)")
        let noPipeline = s.anneal("chat", "sft.model", "--prompt", "hi")
        #expect(noPipeline.code == 2 && noPipeline.stderr.contains("no pipeline given"), "\(noPipeline.stderr)")
        let (_, _) = try TinyModel.write(to: s.dir + "/m")
        try FileManager.default.removeItem(atPath: s.dir + "/m/tokenizer.json")
        try FileManager.default.removeItem(atPath: s.dir + "/m/tokenizer.anneal.json")
        let noTokenizer = s.anneal("generate", "m", "--prompt", "hi")
        #expect(noTokenizer.code == 2 && noTokenizer.stderr.contains("pass --tokenizer STAGE.OUTPUT|PATH"), "\(noTokenizer.stderr)")
        let (_, _) = try TinyModel.write(to: s.dir + "/m2")
        #expect(s.anneal("generate", "m2", "--prompt", "hi", "--top-p", "0").code == 2)
        #expect(s.anneal("generate", "m2", "--prompt", "hi", "--max-tokens", "0").code == 2)
        #expect(s.anneal("generate", "m2", "--prompt", "hi", "--temperature", "-1").code == 2)
        let long = s.anneal("generate", "m2", "--prompt", String(repeating: "words ", count: 80))
        #expect(long.code == 2 && long.stderr.contains("but the model's context is 64; shorten it"), "\(long.stderr)")
    }

    @Test func exportWritesAHuggingFaceDirectoryWithMergedAdapters() throws {
        let s = Sandbox()
        defer { s.remove() }
        let (model, _) = try TinyModel.write(to: s.dir + "/m", lora: true)
        let r = s.anneal("export", "m", "hf", "--format", "hf")
        #expect(r.code == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: s.dir + "/hf").sorted()
        #expect(files == ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
                          "tokenizer.json", "tokenizer_config.json"])
        let weights = try Safetensors.read(URL(fileURLWithPath: s.dir + "/hf/model.safetensors"))
        #expect(weights.tensors["transformer.h.0.attn.c_attn.weight"]?.shape == [16, 48])
        #expect(weights.tensors.keys.allSatisfy { $0.hasPrefix("transformer.") && !$0.contains("lora") })
        let config = Value.parseJSON(s.read("hf/config.json") ?? "")
        #expect(config?["vocab_size"]?.intValue == model.config.vocabSize)
        #expect(config?["activation_function"]?.stringValue == "gelu_new")
        #expect(config?["eos_token_id"]?.intValue == 0 && config?["pad_token_id"]?.intValue == 0)
        #expect(Value.parseJSON(s.read("hf/tokenizer_config.json") ?? "")?["chat_template"]?.stringValue == ChatTemplate.jinja)
        // The exported weights are the base plus the adapters: same logits as the adapted model.
        let exported = try Checkpoint.load(from: URL(fileURLWithPath: s.dir + "/hf"))
        #expect(exported.lora == nil)
        let tokens: [Int32] = [5, 80, 120, 7, 260, 33]
        var rng = RNG(seed: 0)
        let t1 = Tape(recordsGradients: false), t2 = Tape(recordsGradients: false)
        let a = t1.value(model.logits(t1, hidden: model.hidden(t1, tokens: tokens, batch: 1, rng: &rng)))
        let b = t2.value(exported.logits(t2, hidden: exported.hidden(t2, tokens: tokens, batch: 1, rng: &rng)))
        let worst = zip(a.array, b.array).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-5, "max |Δlogit| \(worst)")
        // Anneal reads the export back (tokenizer.json, prefixed names) and generates the same.
        let g1 = s.anneal("generate", "m", "--prompt", "Hello", "--temperature", "0", "--max-tokens", "8")
        let g2 = s.anneal("generate", "hf", "--prompt", "Hello", "--temperature", "0", "--max-tokens", "8")
        #expect(g1.code == 0 && g1.stdout == g2.stdout, "\(g2.stderr)")
        // A non-empty directory needs --force.
        let again = s.anneal("export", "m", "hf")
        #expect(again.code == 2 && again.stderr.contains("hf is not empty (6 entries); choose another directory or pass --force"), "\(again.stderr)")
        s.write("hf/notes.txt", "mine")
        #expect(s.anneal("export", "m", "hf", "--force").code == 0)
        #expect(s.read("hf/notes.txt") == "mine")
        #expect(s.anneal("export", "m", "out2", "--format", "gguf").code == 2)
    }
}
