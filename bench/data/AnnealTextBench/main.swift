// Anneal's side of the data benchmarks (bench/data/run.sh). Prints one JSON object per
// measurement on stdout.
//
//   AnnealTextBench train CORPUS.txt VOCAB OUTDIR     BPE training on paragraphs
//   AnnealTextBench encode OUTDIR CORPUS.txt          encoding throughput, 1 thread and all cores
//   AnnealTextBench dedup DOCS.jsonl TRUTH.json [THRESHOLD PAIRS.json]
//                                                     MinHash+LSH dedup; writes (kept, dropped) pairs
//   AnnealTextBench clean DOCS.jsonl                  Gopher quality + repetition rules
//   AnnealTextBench ids OUTDIR DOCS.jsonl IDS.jsonl   ids of each document (for exact comparison)
import AnnealText
import Foundation

func emit(_ fields: [String: Any]) {
    var fields = fields
    if fields["cpu_seconds"] == nil { fields["cpu_seconds"] = lastCPU }
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func paragraphs(_ path: String) throws -> [String] {
    try DocumentReader(url: URL(fileURLWithPath: path), format: .text(split: .paragraph)).readAll().map(\.text)
}

/// Process CPU time (all threads), to report next to wall time: the machine is shared,
/// and CPU seconds are what a quiet core would need.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

nonisolated(unsafe) var lastCPU = 0.0

/// Wall seconds of `body`; its CPU seconds go to `lastCPU`.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let cpu = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    lastCPU = cpuSeconds() - cpu
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: AnnealTextBench train|encode|dedup|clean ...\n".utf8))
    exit(2)
}

switch args[1] {
case "train":
    let vocab = Int(args[3])!
    var tokenizer: BPETokenizer? = nil
    var bytes = 0
    let t = try seconds {
        let texts = try paragraphs(args[2])
        bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var trainer = BPETrainer(BPETrainerConfig(vocabSize: vocab, minFrequency: 2, specialTokens: [ChatTemplate.endOfText]))
        trainer.add(texts)
        tokenizer = try trainer.train()
    }
    try tokenizer!.write(to: URL(fileURLWithPath: args[4]))
    emit(["what": "anneal_bpe_train", "vocab": vocab, "seconds": t, "mb_per_s": Double(bytes) / 1e6 / t,
          "merges": tokenizer!.merges.count])
case "encode":
    let tokenizer = try BPETokenizer.load(contentsOf: URL(fileURLWithPath: args[2]).appendingPathComponent("tokenizer.anneal.json"))
    let texts = try paragraphs(args[3])
    let bytes = texts.reduce(0) { $0 + $1.utf8.count }
    var tokens = 0
    var encoder = BPEEncoder(tokenizer)
    let one = seconds { for text in texts { tokens += encoder.encode(text, allowSpecial: false).count } }
    let oneCPU = lastCPU
    var pool = EncoderPool(tokenizer)
    var pooled = 0
    let all = seconds {
        for lo in stride(from: 0, to: texts.count, by: 4096) {
            for ids in pool.encode(Array(texts[lo..<min(texts.count, lo + 4096)])) { pooled += ids.count }
        }
    }
    emit(["what": "anneal_encode", "vocab": tokenizer.vocabSize, "tokens": tokens, "threads": 1, "seconds": one,
          "mb_per_s": Double(bytes) / 1e6 / one, "mtok_per_s": Double(tokens) / 1e6 / one, "cpu_seconds": oneCPU])
    emit(["what": "anneal_encode", "vocab": tokenizer.vocabSize, "tokens": pooled,
          "threads": ProcessInfo.processInfo.activeProcessorCount, "seconds": all, "mb_per_s": Double(bytes) / 1e6 / all])
case "dedup":
    let docs = try DocumentReader(url: URL(fileURLWithPath: args[2]), format: .jsonl(field: "text")).readAll().map(\.text)
    let bytes = docs.reduce(0) { $0 + $1.utf8.count }
    var config = DedupConfig()
    if args.count > 4 { config.threshold = Double(args[4])! }
    var result: DedupResult? = nil
    let t = try seconds { result = try Dedup.analyze(docs, config: config) }
    let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: args[3]))) as! [[String: Any]]
    let roots = result!.roots
    var found = 0, foundHigh = 0, high = 0
    var planted = Set<[Int]>()
    for pair in truth {
        let a = pair["source"] as! Int, b = pair["copy"] as! Int
        planted.insert([min(a, b), max(a, b)])
        let hit = roots[a] == roots[b]
        if hit { found += 1 }
        if (pair["jaccard"] as! Double) >= config.threshold { high += 1; if hit { foundHigh += 1 } }
    }
    // Predicted pairs: each dropped document with its cluster's kept one.
    var predicted = 0, correct = 0
    for (i, r) in roots.enumerated() where r != i {
        predicted += 1
        if planted.contains([r, i]) { correct += 1 }
    }
    if args.count > 5 {
        let pairs = roots.enumerated().filter { $0.offset != $0.element }.map { [$0.element, $0.offset] }
        try JSONSerialization.data(withJSONObject: pairs).write(to: URL(fileURLWithPath: args[5]))
    }
    emit(["what": "anneal_dedup", "docs": docs.count, "seconds": t, "docs_per_s": Double(docs.count) / t,
          "mb_per_s": Double(bytes) / 1e6 / t, "threshold": config.threshold,
          "bands": result!.report.bands, "rows": result!.report.rows, "permutations": config.permutations,
          "recall_all": Double(found) / Double(truth.count), "recall_above_threshold": Double(foundHigh) / Double(max(1, high)),
          "precision_vs_planted": Double(correct) / Double(max(1, predicted)), "removed": predicted])
case "clean":
    let docs = try DocumentReader(url: URL(fileURLWithPath: args[2]), format: .jsonl(field: "text")).readAll().map(\.text)
    let bytes = docs.reduce(0) { $0 + $1.utf8.count }
    var config = CleanConfig()
    // Gopher quality + repetition only, as the Python peers run.
    config.rules = Set(CleanRule.allCases.filter { $0.rawValue.hasPrefix("gopher") })
    let cleaner = Cleaner(config)
    var kept = 0
    let one = seconds { for d in docs { if case .kept = cleaner.clean(d).outcome { kept += 1 } } }
    let oneCPU = lastCPU
    emit(["what": "anneal_clean_gopher", "docs": docs.count, "threads": 1, "seconds": one,
          "docs_per_s": Double(docs.count) / one, "mb_per_s": Double(bytes) / 1e6 / one, "kept": kept, "cpu_seconds": oneCPU])
    var config2 = CleanConfig()
    config2.rules.remove(.pii)
    let full = Cleaner(config2)
    let all = seconds { for lo in stride(from: 0, to: docs.count, by: 4096) {
        let batch = Array(docs[lo..<min(docs.count, lo + 4096)])
        DispatchQueue.concurrentPerform(iterations: 2) { w in
            for i in (batch.count * w / 2)..<(batch.count * (w + 1) / 2) { _ = full.clean(batch[i]) }
        }
    } }
    emit(["what": "anneal_clean_all_rules", "docs": docs.count, "threads": 2, "seconds": all,
          "docs_per_s": Double(docs.count) / all, "mb_per_s": Double(bytes) / 1e6 / all])
case "ids":
    let tokenizer = try BPETokenizer.load(contentsOf: URL(fileURLWithPath: args[2]).appendingPathComponent("tokenizer.anneal.json"))
    var encoder = BPEEncoder(tokenizer)
    var lines: [String] = []
    try DocumentReader(url: URL(fileURLWithPath: args[3]), format: .jsonl(field: "text")).forEach { doc in
        lines.append("[" + encoder.encode(doc.text, allowSpecial: false).map(String.init).joined(separator: ",") + "]")
    }
    try (lines.joined(separator: "\n") + "\n").write(toFile: args[4], atomically: true, encoding: .utf8)
default:
    FileHandle.standardError.write(Data("unknown command \(args[1])\n".utf8))
    exit(2)
}
