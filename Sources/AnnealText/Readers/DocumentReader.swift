import Foundation

/// One input document. `raw` is the original JSON line when the document came from JSON
/// Lines: stages that keep a document unchanged write `raw` back byte for byte, so fields
/// other than the text survive untouched.
public struct Document: Sendable {
    public var text: String
    public var file: String
    public var line: Int
    public var raw: String?

    public init(text: String, file: String = "", line: Int = 0, raw: String? = nil) {
        self.text = text
        self.file = file
        self.line = line
        self.raw = raw
    }

    /// The JSON line to write for this document with `newText` (default: its own text):
    /// the original line when the text is unchanged, otherwise the original object with
    /// only `field` replaced (keys then come out sorted).
    public func jsonLine(field: String = "text", text newText: String? = nil) throws -> String {
        let value = newText ?? text
        if let raw, value == text { return raw }
        var object: [String: Any] = [:]
        if let raw, let parsed = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] {
            object = parsed
        }
        object[field] = value
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

/// How to cut input files into documents.
public enum DocumentFormat: Sendable, Equatable {
    /// JSON Lines, one object per line; the document is the string at `field`.
    case jsonl(field: String)
    /// Plain text: the whole file, each paragraph (blank-line separated) or each line.
    case text(split: TextSplit)

    public enum TextSplit: String, Sendable, Codable { case file, paragraph, line }

    /// `jsonl` for `.jsonl`/`.json` files, `text(paragraph)` otherwise.
    public static func guess(for url: URL, field: String = "text") -> DocumentFormat {
        ["jsonl", "json", "ndjson"].contains(url.pathExtension.lowercased()) ? .jsonl(field: field) : .text(split: .paragraph)
    }
}

/// Streams documents from a file or from every regular file under a directory (sorted by
/// path, hidden files skipped). An input with no document at all is an error: an empty
/// corpus is almost always a wrong path or field name.
public struct DocumentReader {
    public let url: URL
    public let format: DocumentFormat

    public init(url: URL, format: DocumentFormat) {
        self.url = url
        self.format = format
    }

    @discardableResult
    public func forEach(_ body: (Document) throws -> Void) throws -> Int {
        var count = 0
        for file in try Self.files(at: url) {
            count += try read(file, body)
        }
        if count == 0 {
            let hint: String
            if case .jsonl(let field) = format { hint = " (no non-empty lines with a string field '\(field)')" } else { hint = "" }
            throw TextError(.emptyInput, "empty input: no documents\(hint)", file: url.path)
        }
        return count
    }

    /// Reads every document into memory; for small inputs and tests.
    public func readAll() throws -> [Document] {
        var docs: [Document] = []
        try forEach { docs.append($0) }
        return docs
    }

    static func files(at url: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TextError(.io, "no such file or directory", file: url.path)
        }
        guard isDirectory.boolValue else { return [url] }
        guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw TextError(.io, "cannot list directory", file: url.path)
        }
        var files: [URL] = []
        for case let file as URL in walker where (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            files.append(file)
        }
        return files.sorted { $0.path < $1.path }
    }

    private func read(_ file: URL, _ body: (Document) throws -> Void) throws -> Int {
        var count = 0
        switch format {
        case .jsonl(let field):
            try LineReader(url: file).forEachLine { line, number in
                guard !line.allSatisfy(\.isWhitespace) else { return }
                let object = try JSONRecord.object(line, file: file.path, line: number)
                guard let text = object[field] as? String else {
                    let keys = object.keys.sorted().joined(separator: ", ")
                    throw TextError(.badLine, "no string field '\(field)' (fields: \(keys))", file: file.path, line: number)
                }
                try body(Document(text: text, file: file.path, line: number, raw: line))
                count += 1
            }
        case .text(.line):
            try LineReader(url: file).forEachLine { line, number in
                guard !line.allSatisfy(\.isWhitespace) else { return }
                try body(Document(text: line, file: file.path, line: number))
                count += 1
            }
        case .text(let split):
            // Paragraphs (or whole files) are gathered line by line, so memory is bounded by
            // the largest paragraph (or file).
            var lines: [String] = []
            var startLine = 1
            func flush() throws {
                let text = lines.joined(separator: "\n")
                lines.removeAll(keepingCapacity: true)
                guard !text.allSatisfy(\.isWhitespace) else { return }
                try body(Document(text: text, file: file.path, line: startLine))
                count += 1
            }
            try LineReader(url: file).forEachLine { line, number in
                if split == .paragraph && line.allSatisfy(\.isWhitespace) {
                    try flush()
                    startLine = number + 1
                } else {
                    if lines.isEmpty { startLine = number }
                    lines.append(line)
                }
            }
            try flush()
        }
        return count
    }
}

/// Parsing one JSON line into an object, with errors that name file and line.
enum JSONRecord {
    static func object(_ line: String, file: String, line number: Int) throws -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        } catch {
            throw TextError(.badLine, "invalid JSON: \(LineReader.reason(error))", file: file, line: number)
        }
        guard let object = parsed as? [String: Any] else {
            throw TextError(.badLine, "expected a JSON object, found \(type(of: parsed))", file: file, line: number)
        }
        return object
    }
}
