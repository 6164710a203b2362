import Foundation

/// `anneal init --stage NAME --swift`: a Swift plugin in `stages/NAME/` that builds and runs
/// as written — a manifest with a typed schema, a package depending on Anneal's library
/// products, and a stage that loads a model, trains it on token shards with the compute core
/// and writes the result.
enum SwiftPluginScaffold {
    /// Path (relative to the plugin directory) → contents.
    static func files(name: String) -> [(String, String)] {
        let type = typeName(name)
        func fill(_ s: String) -> String {
            s.replacingOccurrences(of: "__NAME__", with: name).replacingOccurrences(of: "__TYPE__", with: type)
        }
        return [
            ("stage.yaml", fill(manifest)),
            ("Package.swift", fill(package)),
            ("Sources/\(name)/\(type).swift", fill(source)),
        ]
    }

    /// `lr-find` → `LrFind`: the stage's type, and the name of its source file.
    static func typeName(_ name: String) -> String {
        let words = name.split(whereSeparator: { $0 == "-" || $0 == "_" })
        let joined = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return joined.isEmpty ? "Plugin" : joined
    }

    /// A letter, then letters, digits, `_` and `-`: a directory, a kind and a SwiftPM product.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, CharacterSet.letters.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") }
    }

    static func usage(name: String) -> String {
        """
        created stages/\(name): a Swift plugin. `anneal run` builds it (swift build -c release) the first time a
        pipeline uses it and whenever its files change. Use it after a stage that writes a model, e.g.:

          \(name):
            uses: \(name)
            inputs: {model: pretrain.model, shards: tokenize.shards}
            with: {steps: 20}

        """
    }

    static let manifest = """
        # A Swift plugin (docs/plugins.md): `anneal run` builds the package's executable product
        # in release on first use and whenever a file here changes, then runs it under the stage
        # protocol. Bump `version` when the stage's behaviour changes without its files changing.
        version: 1
        summary: Fine-tunes a GPT on token shards for a few AdamW steps; reports val loss before and after
        swift: __NAME__
        threads: 1
        inputs: [model, shards]
        outputs: [model]
        headline: [val_loss_before, val_loss]
        params:
          steps: {type: int, default: 20, summary: AdamW steps on random training windows}
          learning_rate: {type: float, default: 0.0003, summary: constant learning rate}
          batch_size: {type: int, default: 4, summary: windows per step}
          block_size: {type: int, default: 32, summary: tokens per window; at most the model's context}
          eval_batches: {type: int, default: 4, summary: validation batches per val loss}

        """

    static let package = """
        // swift-tools-version:6.0
        // An Anneal stage plugin. `anneal run` builds it with ANNEAL_PACKAGE_PATH set to the Anneal
        // checkout the runner was built from; set it yourself to build by hand or in an editor.
        import PackageDescription

        let anneal = Context.environment["ANNEAL_PACKAGE_PATH"] ?? "../.."

        let package = Package(
            name: "__NAME__",
            platforms: [.macOS(.v13)],
            dependencies: [.package(name: "Anneal", path: anneal)],
            targets: [
                .executableTarget(name: "__NAME__", dependencies: [
                    .product(name: "AnnealStageKit", package: "Anneal"),
                    .product(name: "AnnealCompute", package: "Anneal"),
                    .product(name: "AnnealModels", package: "Anneal"),
                    .product(name: "AnnealTrain", package: "Anneal"),
                ]),
            ]
        )

        """

    static let source = #"""
        import AnnealCompute
        import AnnealModels
        import AnnealStageKit
        import AnnealTrain
        import Foundation

        /// `__NAME__`: loads the GPT of input `model`, measures its validation loss on the token
        /// shards of input `shards`, trains it for `steps` AdamW steps at a constant rate, measures
        /// again, and writes the trained checkpoint (with the input's tokenizer files) to `model`.
        @main
        struct __TYPE__: Stage {
            /// The manifest's params; `learning_rate` fills `learningRate`.
            struct Config: Decodable {
                var steps: Int
                var learningRate: Double
                var batchSize: Int
                var blockSize: Int
                var evalBatches: Int
            }

            static func run(_ context: StageContext, config: Config) throws {
                // config
                guard config.steps >= 0, config.learningRate > 0, config.batchSize >= 1, config.evalBatches >= 1 else {
                    throw StageFailure("steps must be at least 0, learning_rate above 0, batch_size and eval_batches at least 1")
                }
                let B = config.batchSize, T = config.blockSize

                // model
                let modelDirectory = URL(fileURLWithPath: try context.input("model"))
                let model = try Checkpoint.load(from: modelDirectory)
                guard (1...model.config.contextLength).contains(T) else {
                    throw StageFailure("block_size \(T) must be between 1 and the model's context length \(model.config.contextLength)")
                }

                // data
                let data = try TokenData.load(directory: URL(fileURLWithPath: try context.input("shards")))
                guard data.vocabSize <= model.config.vocabSize else {
                    throw StageFailure("the shards use a vocabulary of \(data.vocabSize) but the model has \(model.config.vocabSize); feed the shards its tokenizer wrote")
                }
                guard data.train.count > T, data.validation.count > T else {
                    throw StageFailure("the shards hold \(data.train.count) training and \(data.validation.count) validation tokens, too few for a window of block_size \(T) + 1")
                }
                let offsets = Batching.evenlySpaced(data.validation, count: config.evalBatches * B, block: T)
                let validation = stride(from: 0, to: offsets.count, by: B).map {
                    Batching.window(data.validation, offsets: Array(offsets[$0..<min($0 + B, offsets.count)]), block: T)
                }
                let before = Evaluation.loss(model, batches: validation)
                context.report(step: 0, total: config.steps, metrics: ["val_loss_before": before])

                // the loop: sample → forward → backward → step → report
                var optimizer = TrainingOptimizer(model: model, schedule: LRSchedule(peak: Float(config.learningRate),
                                                  totalSteps: max(config.steps, 1), decay: .constant), weightDecay: 0)
                let seed = UInt64(bitPattern: Int64(context.seed))
                var dataRNG = RNG(seed: seed), dropoutRNG = RNG(seed: seed, stream: 1)
                let tape = Tape()
                for step in 0..<config.steps {
                    let batch = Batching.sample(data.train, batch: B, block: T, rng: &dataRNG)
                    optimizer.zeroGrads()
                    tape.reset()
                    let loss = model.languageModelLoss(tape, tokens: batch.inputs, targets: batch.targets, batch: B,
                                                       training: true, rng: &dropoutRNG)
                    tape.backward(loss)
                    let stats = optimizer.step()
                    context.report(step: step + 1, total: config.steps,
                                   metrics: ["loss": Double(tape.value(loss)[0]), "grad_norm": Double(stats.gradientNorm)])
                }

                // outputs
                let after = Evaluation.loss(model, batches: validation)
                let out = URL(fileURLWithPath: try context.output("model"))
                try Checkpoint.save(model, to: out)
                let fm = FileManager.default
                for file in try fm.contentsOfDirectory(atPath: modelDirectory.path).sorted() where file.hasPrefix("tokenizer") {
                    try fm.copyItem(at: modelDirectory.appendingPathComponent(file), to: out.appendingPathComponent(file))
                }
                context.report(step: config.steps, total: config.steps, metrics: ["val_loss_before": before, "val_loss": after])
            }
        }

        """#
}
