/// A position in a source file, 1-based, as editors show it.
public struct SourceMark: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// Where command-line overrides (`--set`) come from; they have no source line to show.
    /// A long value is cut: the message names the override, it need not repeat all of it.
    public static func commandLine(_ text: String) -> SourceMark {
        SourceMark(file: "--set \(text.count > 100 ? text.prefix(96) + " …" : text)", line: 0, column: 0)
    }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// One problem found in a pipeline file. All of a file's problems are collected before any
/// is reported, so a user fixes them in one pass.
public struct Diagnostic: Sendable, Hashable, Error, CustomStringConvertible {
    public var mark: SourceMark
    public var message: String
    public var hint: String?

    public init(_ mark: SourceMark, _ message: String, hint: String? = nil) {
        self.mark = mark
        self.message = message
        self.hint = hint
    }

    /// `file:line:col: error: message; hint` without the source excerpt.
    public var description: String {
        "\(mark): error: \(message)" + (hint.map { "; \($0)" } ?? "")
    }

    /// The one-line form followed by the offending source line and a caret under the column.
    public func rendered(source: String?) -> String {
        var out = description
        guard mark.line > 0, let source else { return out }
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line <= lines.count else { return out }
        let text = String(lines[mark.line - 1])
        let gutter = String(mark.line)
        let pad = String(repeating: " ", count: gutter.count)
        let caretIndent = String(repeating: " ", count: max(0, mark.column - 1))
        out += "\n \(gutter) | \(text)\n \(pad) | \(caretIndent)^"
        return out
    }
}

/// Every diagnostic of a pipeline file, in source order.
public struct PipelineErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var sources: [String: String]

    public init(_ diagnostics: [Diagnostic], sources: [String: String] = [:]) {
        self.diagnostics = diagnostics.sorted {
            ($0.mark.file, $0.mark.line, $0.mark.column, $0.message) < ($1.mark.file, $1.mark.line, $1.mark.column, $1.message)
        }
        self.sources = sources
    }

    public var description: String {
        let body = diagnostics.map { $0.rendered(source: sources[$0.mark.file]) }.joined(separator: "\n")
        let n = diagnostics.count
        return body + "\n\(n) error\(n == 1 ? "" : "s")"
    }
}

/// "did you mean" for misspelled keys, stages and outputs: the closest candidate within an edit
/// distance that scales with the word's length.
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let limit = max(1, word.count / 3)
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if d <= limit, best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    // Optimal string alignment: a swap of neighbours ("tokneize") counts as one edit.
    var before = [Int](repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                cur[j] = min(cur[j], before[j - 2] + 1)
            }
        }
        (before, prev, cur) = (prev, cur, before)
    }
    return prev[b.count]
}

func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String? {
    closestMatch(to: word, in: candidates).map { "did you mean '\($0)'?" }
}
