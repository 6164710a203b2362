import Foundation
import Testing
@testable import AnnealText

@Suite struct DedupTests {
    @Test func lshParametersFollowTheThreshold() {
        #expect(LSHParameters.optimal(threshold: 0.7, permutations: 128) == LSHParameters(bands: 18, rows: 7))
        // With equal weights the choice matches datasketch's for 0.8 / 128 (9 × 13).
        #expect(LSHParameters.optimal(threshold: 0.8, permutations: 128, falseNegativeWeight: 0.5) == LSHParameters(bands: 9, rows: 13))
        let p = LSHParameters(bands: 18, rows: 7)
        #expect(p.candidateProbability(0.8) > 0.98 && p.candidateProbability(0.4) < 0.03)
    }

    @Test func minHashEstimatesJaccard() {
        var rng = SplitMix64(seed: 9)
        let hasher = MinHasher(permutations: 256, seed: 1)
        for overlap in [0.2, 0.5, 0.8] {
            let shared = (0..<Int(400 * overlap)).map { _ in SplitMix64.mix(rng.next()) }
            let x = shared + (0..<(400 - shared.count)).map { _ in SplitMix64.mix(rng.next()) }
            let y = shared + (0..<(400 - shared.count)).map { _ in SplitMix64.mix(rng.next()) }
            let truth = Double(shared.count) / Double(800 - shared.count)
            let estimate = MinHasher.similarity(hasher.signature(x), hasher.signature(y))
            #expect(abs(estimate - truth) < 0.08, "overlap \(overlap): \(estimate) vs \(truth)")
        }
    }

    @Test func shinglesNormaliseCaseDigitsPunctuationAndDiacritics() {
        #expect(Shingles.wordHashes("Café, 12 apples!") == Shingles.wordHashes("cafe 99 APPLES"))
        #expect(Shingles.hashes("one two", n: 5).count == 1)
        #expect(Shingles.jaccard("a b c d e f", "a b c d e f", n: 5) == 1)
    }

    @Test func exactAndNearDuplicatesClusterAndFirstIsKept() throws {
        let base = (0..<120).map { "word\($0 % 37)x\($0)" }.joined(separator: " ")
        var near = base.split(separator: " ").map(String.init)
        near[60] = "changed"
        let other = (0..<120).map { "other\($0)" }.joined(separator: " ")
        let result = try Dedup.analyze([base, other, "  " + base.uppercased() + "\n", near.joined(separator: " ")])
        #expect(result.roots == [0, 1, 0, 0])
        #expect(result.kinds == [nil, nil, .exact, .near])
        #expect(result.report.kept == 2 && result.report.exactDuplicates == 1 && result.report.nearDuplicates == 1)
        #expect(result.report.clusters == 1 && result.report.largestCluster == 3)
    }

    @Test func runPassesLinesThroughUnchanged() throws {
        let s = Scratch()
        let text = (0..<60).map { "token\($0)" }.joined(separator: " ")
        let input = s.file("in.jsonl", """
        {"text": "\(text)", "meta": {"a": [1, 2]}, "id": "x"}
        {"id": "y", "text": "\(text)"}
        {"text":"something else entirely"}
        """)
        let output = s.url.appendingPathComponent("out.jsonl")
        let report = try Dedup.run(input: input, output: output, report: s.url.appendingPathComponent("r.json"))
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines == ["{\"text\": \"\(text)\", \"meta\": {\"a\": [1, 2]}, \"id\": \"x\"}", "{\"text\":\"something else entirely\"}", ""])
        #expect(report.exactDuplicates == 1 && report.sampleClusters.first?.map(\.line) == [1, 2])
    }

    /// The acceptance figures of issue 5, computed from the TinyWorld manifest: every
    /// exact duplicate, ≥ 95% of near-duplicate pairs, pair precision ≥ 95%. Dedup runs on
    /// what `clean` keeps, as in the tinychat pipeline (junk is often identical junk).
    @Test func tinyWorldPlantedDuplicatesAreFound() throws {
        let world = TinyWorldTests.world
        let cleaner = Cleaner()
        let corpus = world.corpus.compactMap { doc -> CorpusDocument? in
            guard case .kept(let text) = cleaner.clean(doc.text).outcome else { return nil }
            return CorpusDocument(id: doc.id, text: text)
        }
        let position = Dictionary(uniqueKeysWithValues: corpus.enumerated().map { ($1.id, $0) })
        let result = try Dedup.analyze(corpus.map(\.text))
        let sameCluster = { (a: String, b: String) in result.roots[position[a]!] == result.roots[position[b]!] }
        let survived = { (pair: (String, String)) in position[pair.0] != nil && position[pair.1] != nil }
        let exact = world.manifest.pairs(kind: "exact_duplicate").filter(survived)
        let near = world.manifest.pairs(kind: "near_duplicate").filter(survived)
        #expect(!exact.isEmpty && near.count >= 20)
        #expect(exact.allSatisfy(sameCluster))
        let found = near.filter(sameCluster).count
        #expect(Double(found) >= 0.95 * Double(near.count), "near pairs found \(found)/\(near.count)")
        // Precision over predicted pairs (all pairs inside a cluster) against planted groups.
        var group: [String: String] = [:]
        for entry in world.manifest.documents { group[entry.id] = entry.source ?? entry.id }
        var clusters: [Int: [String]] = [:]
        for doc in corpus { clusters[result.roots[position[doc.id]!], default: []].append(doc.id) }
        var predicted = 0, correct = 0
        for members in clusters.values where members.count > 1 {
            for i in 0..<members.count {
                for j in (i + 1)..<members.count {
                    predicted += 1
                    if group[members[i]] == group[members[j]] { correct += 1 }
                }
            }
        }
        #expect(Double(correct) >= 0.95 * Double(predicted), "precision \(correct)/\(predicted)")
    }
}
