import Foundation

/// What `clean` did, written as the report file and turned into metrics by the stage.
public struct CleanReport: Codable, Sendable, Equatable {
    public struct Sample: Codable, Sendable, Equatable {
        public var file: String
        public var line: Int
        /// The first 400 characters of the document as read.
        public var text: String
    }
    public var documents = 0
    public var kept = 0
    public var removed = 0
    /// Kept documents whose text changed (normalisation, redaction, C4 line removal).
    public var modified = 0
    public var removedByRule: [String: Int] = [:]
    public var samples: [String: [Sample]] = [:]
    public var pii = PIICounts()
    public var inputBytes = 0
    public var seconds = 0.0
    public var wordDefinition = "whitespace-separated runs; words without a letter or digit are symbols, "
        + "left out of the word count and mean length"
}

public enum Clean {
    /// Reads documents from `input`, writes the kept ones to `output` as JSON Lines (the
    /// original objects with only the text field replaced; plain-text input becomes
    /// `{"text": ...}`), and writes `report` as JSON when given. Works in batches of 4,096
    /// documents across all cores, so memory stays bounded and output order is input order.
    @discardableResult
    public static func run(input: URL, format: DocumentFormat = .jsonl(field: "text"), output: URL,
                           report reportURL: URL? = nil, config: CleanConfig = CleanConfig()) throws -> CleanReport {
        let start = Date()
        let cleaner = Cleaner(config)
        let writer = try LineWriter(url: output)
        var report = CleanReport()
        let field: String
        if case .jsonl(let name) = format { field = name } else { field = "text" }
        var batch: [Document] = []
        func drain() throws {
            let results = Parallel.map(batch) { cleaner.clean($0.text) }
            for (doc, result) in zip(batch, results) {
                report.documents += 1
                report.inputBytes += doc.text.utf8.count
                report.pii.add(result.pii)
                switch result.outcome {
                case .kept(let text):
                    report.kept += 1
                    if text != doc.text { report.modified += 1 }
                    try writer.write(line: try doc.jsonLine(field: field, text: text))
                case .removed(let rule):
                    report.removed += 1
                    report.removedByRule[rule.rawValue, default: 0] += 1
                    if report.samples[rule.rawValue, default: []].count < config.samplesPerRule {
                        report.samples[rule.rawValue, default: []].append(
                            .init(file: doc.file, line: doc.line, text: String(doc.text.prefix(400))))
                    }
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        try DocumentReader(url: input, format: format).forEach { doc in
            batch.append(doc)
            if batch.count == 4096 { try drain() }
        }
        try drain()
        try writer.finish()
        report.seconds = Date().timeIntervalSince(start)
        if let reportURL { try JSONLines.writeDocument(report, to: reportURL) }
        return report
    }
}
