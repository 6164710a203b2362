import Foundation

/// Cluster statistics of a dedup run (the stage's report file and metrics).
public struct DedupReport: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var file: String
        public var line: Int
        public var text: String   // first 200 characters
    }
    public var documents = 0
    public var kept = 0
    public var exactDuplicates = 0
    public var nearDuplicates = 0
    /// Clusters with more than one document.
    public var clusters = 0
    public var largestCluster = 0
    /// Number of clusters by size ("2", "3", ..., "10+").
    public var clusterSizes: [String: Int] = [:]
    public var threshold = 0.0
    public var ngram = 0
    public var permutations = 0
    public var bands = 0
    public var rows = 0
    public var candidatePairs = 0
    /// Candidates whose estimated Jaccard fell below the threshold.
    public var rejectedCandidates = 0
    public var seconds = 0.0
    /// Up to five of the largest clusters, first member kept.
    public var sampleClusters: [[Member]] = []
}

/// The result of `Dedup.analyze`: per document, the index of the kept document of its
/// cluster (itself when kept) and why it was dropped.
public struct DedupResult: Sendable {
    public var roots: [Int]
    public var kinds: [DuplicateKind?]
    public var report: DedupReport

    public var kept: [Int] { roots.indices.filter { roots[$0] == $0 } }
}

public enum Dedup {
    static let batchSize = 4096

    /// Dedups texts held in memory (tests, small inputs).
    public static func analyze(_ texts: [String], config: DedupConfig = DedupConfig()) throws -> DedupResult {
        try config.validate()
        let start = Date()
        var index = DedupIndex(config, expectedDocuments: texts.count)
        for lo in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = Array(texts[lo..<min(texts.count, lo + batchSize)])
            for sketch in Parallel.map(batch, { [index] in index.sketch($0) }) { index.add(sketch) }
        }
        let (roots, kinds) = index.finish()
        var report = makeReport(index, roots, kinds, start) { texts[$0] }
        report.seconds = Date().timeIntervalSince(start)
        return DedupResult(roots: roots, kinds: kinds, report: report)
    }

    /// Streams `input` twice: the first pass clusters, the second writes every kept
    /// document's original line to `output` byte for byte (all fields unchanged). Memory
    /// is bounded by the per-document index (see `DedupIndex`), not by the texts.
    @discardableResult
    public static func run(input: URL, format: DocumentFormat = .jsonl(field: "text"), output: URL,
                           report reportURL: URL? = nil, config: DedupConfig = DedupConfig()) throws -> DedupReport {
        try config.validate()
        let start = Date()
        let reader = DocumentReader(url: input, format: format)
        var index = DedupIndex(config)
        var batch: [String] = []
        func drain() {
            for sketch in Parallel.map(batch, { [index] in index.sketch($0) }) { index.add(sketch) }
            batch.removeAll(keepingCapacity: true)
        }
        try reader.forEach { doc in
            batch.append(doc.text)
            if batch.count == batchSize { drain() }
        }
        drain()
        let (roots, kinds) = index.finish()

        let writer = try LineWriter(url: output)
        var position = 0
        var samples: [Int: DedupReport.Member] = [:]
        let sampled = Set(sampleClusterMembers(roots))
        try reader.forEach { doc in
            if sampled.contains(position) {
                samples[position] = DedupReport.Member(file: doc.file, line: doc.line, text: String(doc.text.prefix(200)))
            }
            if roots[position] == position { try writer.write(line: try doc.jsonLine()) }
            position += 1
        }
        try writer.finish()
        var report = makeReport(index, roots, kinds, start) { samples[$0]?.text ?? "" }
        report.sampleClusters = report.sampleClusters.map { cluster in
            cluster.map { member in samples[member.line] ?? member }
        }
        report.seconds = Date().timeIntervalSince(start)
        if let reportURL { try JSONLines.writeDocument(report, to: reportURL) }
        return report
    }

    /// Members (document positions) of the five largest clusters, at most 5 each.
    static func sampleClusterMembers(_ roots: [Int]) -> [Int] {
        largestClusters(roots).flatMap { $0.prefix(5) }
    }

    static func largestClusters(_ roots: [Int]) -> [[Int]] {
        var members: [Int: [Int]] = [:]
        for (i, r) in roots.enumerated() { members[r, default: []].append(i) }
        let clusters = members.values.filter { $0.count > 1 }
        return Array(clusters.sorted { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }.prefix(5))
    }

    /// `text(i)` gives document i's sample text; members carry their position in `line`
    /// (in memory there is no file), which `run` replaces with the real file and line.
    static func makeReport(_ index: DedupIndex, _ roots: [Int], _ kinds: [DuplicateKind?], _ start: Date,
                           text: (Int) -> String) -> DedupReport {
        var report = DedupReport()
        report.documents = roots.count
        report.threshold = index.config.threshold
        report.ngram = index.config.ngram
        report.permutations = index.config.permutations
        report.bands = index.config.near ? index.lsh.bands : 0
        report.rows = index.config.near ? index.lsh.rows : 0
        report.candidatePairs = index.candidatePairs
        report.rejectedCandidates = index.rejectedPairs
        var sizes: [Int: Int] = [:]
        for (i, r) in roots.enumerated() {
            sizes[r, default: 0] += 1
            switch kinds[i] {
            case .exact?: report.exactDuplicates += 1
            case .near?: report.nearDuplicates += 1
            case nil: report.kept += 1
            }
        }
        for size in sizes.values where size > 1 {
            report.clusters += 1
            report.largestCluster = max(report.largestCluster, size)
            report.clusterSizes[size >= 10 ? "10+" : String(size), default: 0] += 1
        }
        report.sampleClusters = largestClusters(roots).map { cluster in
            cluster.prefix(5).map { DedupReport.Member(file: "", line: $0, text: text($0)) }
        }
        return report
    }
}
