import AnnealText
import AnnealTrain

/// The data of the stages that train on preference pairs (reward, dpo): every record of the
/// `prefs` input through the stage's own encoding, in file order, and a seeded held-out split.
struct PreferencePairs<Pair> {
    var train: [Pair]
    var validation: [Pair]
    /// Each held-out pair's `kind`, where its line names one.
    var validationKinds: [String?]
    /// `<|endoftext|>`'s id, which fills the rows after a pair's tokens (0 when the tokenizer has none).
    var pad: Int32

    init(_ ctx: StageContext, tokenizer: BPETokenizer, valShare: Double, seed: UInt64,
         encode: (PreferenceRecord, inout BPEEncoder) throws -> Pair) throws {
        var records: [PreferenceRecord] = []
        try PreferenceReader(url: DocumentInput.file(try ctx.input("prefs"), input: "prefs")).forEach { records.append($0) }
        var encoder = BPEEncoder(tokenizer)
        let pairs = try records.map { try encode($0, &encoder) }
        let split = HeldOutSplit.indices(count: pairs.count, fraction: valShare, seed: seed)
        train = split.train.map { pairs[$0] }
        validation = split.validation.map { pairs[$0] }
        validationKinds = split.validation.map { records[$0].kind }
        pad = Int32(bitPattern: tokenizer.id(ofSpecial: ChatTemplate.endOfText) ?? 0)
    }

    /// The run's steps (max_iters, or `epochs` passes over the training pairs) and its
    /// schedule, a pair being two rows (chosen, rejected) of `blockSize` tokens; logged with
    /// the split.
    func plan(_ ctx: StageContext, _ optimizer: OptimizerParameters, epochs: Double, blockSize T: Int) -> (iterations: Int, plan: TrainingPlan) {
        let B = optimizer.batchSize, accumulation = optimizer.gradientAccumulationSteps
        let iterations = FineTunePlan.iterations(maxIters: optimizer.maxIters, epochs: epochs, examples: train.count, perStep: B * accumulation)
        let plan = optimizer.plan(iterations: iterations, tokensPerStep: 2 * B * T * accumulation)
        ctx.log("\(train.count + validation.count) preference pairs: \(train.count) train, \(validation.count) validation; \(iterations) steps")
        return (iterations, plan)
    }
}
