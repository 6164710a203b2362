import AnnealText
import Foundation

/// Where a stage's `docs` input keeps its documents: a workspace file as given, or, for an
/// upstream stage's output directory, its one `.jsonl` (or text) file.
enum DocumentInput {
    static func file(_ path: String, input: String) throws -> URL {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw StageFailure("input '\(input)': \(path) does not exist")
        }
        guard isDir.boolValue else { return URL(fileURLWithPath: path) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        if names.contains("docs.jsonl") { return URL(fileURLWithPath: path + "/docs.jsonl") }
        let jsonl = names.filter { $0.hasSuffix(".jsonl") }
        if jsonl.count == 1 { return URL(fileURLWithPath: path + "/" + jsonl[0]) }
        let text = names.filter { $0.hasSuffix(".txt") }
        if jsonl.isEmpty, text.count == 1 { return URL(fileURLWithPath: path + "/" + text[0]) }
        throw StageFailure("input '\(input)': the directory \(path) holds \(jsonl.count) .jsonl files (\(jsonl.joined(separator: ", "))); expected docs.jsonl or exactly one")
    }
}

/// `format: jsonl|text`, `field`, `text_split`: the parameters every document-reading stage
/// shares (a group its `Parameters` embeds and lifts into its table).
struct FormatParameters {
    var format = "auto"
    var field = "text"
    var textSplit = "paragraph"

    static var parameters: [Param<Self>] {
        [
            Param("format", \.format, allowed: ["auto", "jsonl", "text"],
                  summary: "auto: JSON Lines for .jsonl/.json files, plain text otherwise"),
            Param("field", \.field, summary: "JSON field holding the document text"),
            Param("text_split", \.textSplit, allowed: ["file", "paragraph", "line"], summary: "how plain text splits into documents"),
        ]
    }

    func documentFormat(for url: URL) -> DocumentFormat {
        switch format {
        case "jsonl": return .jsonl(field: field)
        case "text": return .text(split: DocumentFormat.TextSplit(rawValue: textSplit) ?? .paragraph)
        default: return DocumentFormat.guess(for: url, field: field)
        }
    }
}

import AnnealPipeline

/// Writes a report into an output as sorted JSON without what would make the artifact
/// differ between two identical runs: wall-clock timings (those go to metrics) and absolute
/// paths of inputs (which name the cache directory); `paths` maps such a path to a stable name.
func writeReport<T: Encodable>(_ value: T, to path: String, paths: [String: String]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    guard let v = Value.parseJSON(text) else { throw StageFailure("cannot encode the report \(path)") }
    try Data(stable(v, paths: paths).prettyJSON.utf8).write(to: URL(fileURLWithPath: path))
}

func stable(_ v: Value, paths: [String: String]) -> Value {
    switch v {
    case .map(let m):
        return .map(m.filter { !$0.key.hasSuffix("seconds") }.mapValues { stable($0, paths: paths) })
    case .list(let items):
        return .list(items.map { stable($0, paths: paths) })
    case .string(let s):
        return .string(paths[s] ?? s)
    default:
        return v
    }
}
