import Foundation

/// Parameters of the `tokenize` stage.
public struct TokenizeConfig: Sendable, Equatable {
    public var trainer = BPETrainerConfig()
    /// Every k-th document (k = round(1 / share)) goes to validation: deterministic and
    /// spread over the corpus.
    public var validationShare = 0.05
    public var maxTokensPerShard = 50_000_000

    public init() {}
}

/// What `tokenize` produced (`shards/shards.json`).
public struct TokenizeReport: Codable, Sendable, Equatable {
    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var tokens: Int
    }
    public var documents = 0
    public var inputBytes = 0
    public var vocabSize = 0
    public var merges = 0
    public var distinctWords = 0
    public var bytesPerToken = 0
    public var trainTokens = 0
    public var validationTokens = 0
    public var train: [Shard] = []
    public var validation: [Shard] = []
    public var trainSeconds = 0.0
    public var encodeSeconds = 0.0
    /// Input bytes per token (compression).
    public var bytesPerTokenRatio = 0.0
}

public enum Tokenize {
    /// Trains a tokenizer on documents streamed from `input` (one pass).
    public static func train(input: URL, format: DocumentFormat = .jsonl(field: "text"),
                             config: BPETrainerConfig) throws -> (BPETokenizer, distinctWords: Int) {
        var trainer = BPETrainer(config)
        var batch: [String] = []
        try DocumentReader(url: input, format: format).forEach { doc in
            batch.append(doc.text)
            if batch.count == 4096 { trainer.add(batch); batch.removeAll(keepingCapacity: true) }
        }
        trainer.add(batch)
        return (try trainer.train(), trainer.distinctWords)
    }

    /// Encodes `input` into train and validation shards in `directory`, each document
    /// followed by `<|endoftext|>` when the tokenizer has it; writes `shards.json`.
    /// Special-token strings inside documents are encoded as plain text.
    public static func writeShards(input: URL, format: DocumentFormat = .jsonl(field: "text"), tokenizer: BPETokenizer,
                                   directory: URL, config: TokenizeConfig = TokenizeConfig()) throws -> TokenizeReport {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let start = Date()
        let train = ShardWriter(directory: directory, prefix: "train", vocabSize: tokenizer.vocabSize, maxTokens: config.maxTokensPerShard)
        let validation = ShardWriter(directory: directory, prefix: "val", vocabSize: tokenizer.vocabSize, maxTokens: config.maxTokensPerShard)
        // A tiny share (1e-300) would make 1/share too large for Int: past a billion it means "never".
        let every = config.validationShare > 0 ? max(2, Int(min(1 / config.validationShare, 1e9).rounded())) : Int.max
        let eot = tokenizer.id(ofSpecial: ChatTemplate.endOfText)
        var report = TokenizeReport()
        var pool = EncoderPool(tokenizer)
        var batch: [String] = []
        func drain() throws {
            for ids in pool.encode(batch, separator: eot) {
                let index = report.documents
                report.documents += 1
                try (index % every == every - 1 ? validation : train).append(ids)
            }
            for text in batch { report.inputBytes += text.utf8.count }
            batch.removeAll(keepingCapacity: true)
        }
        try DocumentReader(url: input, format: format).forEach { doc in
            batch.append(doc.text)
            if batch.count == 4096 { try drain() }
        }
        try drain()
        try train.close()
        try validation.close()
        report.vocabSize = tokenizer.vocabSize
        report.merges = tokenizer.merges.count
        report.bytesPerToken = train.bytesPerToken
        report.trainTokens = train.total
        report.validationTokens = validation.total
        report.train = train.files.map { .init(file: $0.name, tokens: $0.tokens) }
        report.validation = validation.files.map { .init(file: $0.name, tokens: $0.tokens) }
        report.encodeSeconds = Date().timeIntervalSince(start)
        let tokens = report.trainTokens + report.validationTokens - (eot == nil ? 0 : report.documents)
        report.bytesPerTokenRatio = tokens > 0 ? Double(report.inputBytes) / Double(tokens) : 0
        try JSONLines.writeDocument(report, to: directory.appendingPathComponent("shards.json"))
        return report
    }

    /// Trains, writes `tokenizer.json` + `tokenizer.anneal.json` to `tokenizerDirectory`
    /// and the shards to `shardsDirectory`.
    @discardableResult
    public static func run(input: URL, format: DocumentFormat = .jsonl(field: "text"), tokenizerDirectory: URL,
                           shardsDirectory: URL, config: TokenizeConfig = TokenizeConfig()) throws -> TokenizeReport {
        let start = Date()
        let (tokenizer, words) = try train(input: input, format: format, config: config.trainer)
        let trainSeconds = Date().timeIntervalSince(start)
        try tokenizer.write(to: tokenizerDirectory)
        var report = try writeShards(input: input, format: format, tokenizer: tokenizer, directory: shardsDirectory, config: config)
        report.trainSeconds = trainSeconds
        report.distinctWords = words
        try JSONLines.writeDocument(report, to: shardsDirectory.appendingPathComponent("shards.json"))
        return report
    }
}

/// One encoder (with its cache) per core, each encoding a contiguous slice of a batch;
/// the caches live as long as the pool, so they warm up over the whole corpus.
public struct EncoderPool {
    private var encoders: [BPEEncoder]

    public init(_ tokenizer: BPETokenizer, workers: Int = TextThreads.count) {
        encoders = (0..<max(1, workers)).map { _ in BPEEncoder(tokenizer) }
    }

    /// Ids of each text, in order, each followed by `separator` when given. Special-token
    /// text inside documents is encoded as ordinary text unless `allowSpecial` (so a
    /// corpus cannot smuggle chat-control tokens into pretraining data).
    public mutating func encode(_ texts: [String], separator: UInt32? = nil, allowSpecial: Bool = false) -> [[UInt32]] {
        let workers = min(encoders.count, max(1, texts.count / 8))
        var results = [[UInt32]](repeating: [], count: texts.count)
        encoders.withUnsafeMutableBufferPointer { pool in
            results.withUnsafeMutableBufferPointer { out in
                let shared = (pool: UnsafeSendable(pool), out: UnsafeSendable(out))
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let lo = texts.count * w / workers, hi = texts.count * (w + 1) / workers
                    for i in lo..<hi {
                        var ids = shared.pool.value[w].encode(texts[i], allowSpecial: allowSpecial)
                        if let separator { ids.append(separator) }
                        shared.out.value[i] = ids
                    }
                }
            }
        }
        return results
    }
}
