import Foundation
import Testing
@testable import AnnealText

/// The first half of the tinychat pipeline through files, as the stages will run it:
/// tinyworld → clean → dedup → tokenize.
@Suite struct DataPipelineTests {
    @Test func tinyWorldThroughCleanDedupAndTokenize() throws {
        let s = Scratch()
        let files = try TinyWorld.write(to: s.url.appendingPathComponent("world"))
        let cleaned = s.url.appendingPathComponent("clean/docs.jsonl")
        let cleanReport = try Clean.run(input: files.corpus, output: cleaned, report: s.url.appendingPathComponent("clean/report.json"))
        let manifest = try JSONDecoder().decode(CorpusManifest.self, from: Data(contentsOf: files.manifest))
        #expect(cleanReport.documents == manifest.documents.count)
        #expect(cleanReport.removed >= manifest.ids(kind: "junk").count * 95 / 100)

        let deduped = s.url.appendingPathComponent("dedup/docs.jsonl")
        let dedupReport = try Dedup.run(input: cleaned, output: deduped, report: s.url.appendingPathComponent("dedup/report.json"))
        #expect(dedupReport.documents == cleanReport.kept)
        #expect(dedupReport.exactDuplicates >= manifest.ids(kind: "exact_duplicate").count * 9 / 10)
        #expect(dedupReport.nearDuplicates >= manifest.ids(kind: "near_duplicate").count * 9 / 10)
        // Kept lines keep their ids: every output id is a good document of the manifest or a
        // duplicate whose source was dropped as junk (never).
        let kinds = Dictionary(uniqueKeysWithValues: manifest.documents.map { ($0.id, $0.kind) })
        let kept = try DocumentReader(url: deduped, format: .jsonl(field: "text")).readAll()
        let keptKinds = kept.map { doc -> String in
            let id = (try? JSONSerialization.jsonObject(with: Data(doc.raw!.utf8)) as? [String: Any])?["id"] as? String
            return kinds[id ?? ""] ?? "?"
        }
        #expect(keptKinds.filter { $0 == "junk" || $0 == "?" }.isEmpty)
        #expect(kept.count == dedupReport.kept)

        var config = TokenizeConfig()
        config.trainer.vocabSize = 2048
        let report = try Tokenize.run(input: deduped, tokenizerDirectory: s.url.appendingPathComponent("tok"),
                                      shardsDirectory: s.url.appendingPathComponent("shards"), config: config)
        // min_frequency 2 stops merging before 2,048 on a corpus this small (1,629 with the
        // default world: every word seen twice is then one token).
        #expect(report.vocabSize > 1000 && report.vocabSize <= 2048 && report.bytesPerToken == 2, "vocab \(report.vocabSize)")
        #expect(report.documents == kept.count && report.validationTokens > 0, "tokens \(report.trainTokens)+\(report.validationTokens), vocab \(report.vocabSize)")
        let tokenizer = try BPETokenizer.load(contentsOf: s.url.appendingPathComponent("tok"))
        let (_, val) = try TokenShard.read(s.url.appendingPathComponent("shards/\(report.validation[0].file)"))
        #expect(val.last == tokenizer.id(ofSpecial: ChatTemplate.endOfText))
        #expect(FileManager.default.fileExists(atPath: s.url.appendingPathComponent("shards/shards.json").path))
    }

    @Test func trainerIgnoresBatchBoundaries() throws {
        let texts = TinyWorldTests.world.corpus.prefix(300).map(\.text)
        var whole = BPETrainer(BPETrainerConfig(vocabSize: 700))
        whole.add(Array(texts))
        var parts = BPETrainer(BPETrainerConfig(vocabSize: 700))
        parts.add(Array(texts[..<17]))
        parts.add(Array(texts[17...]))
        #expect(try whole.train() == parts.train())
    }
}
