/// Expands `${…}` tokens in a `run:` or plugin command so that each value reaches the stage
/// as literal text, never as shell code, wherever the token stands:
///
/// - unquoted: the value becomes one single-quoted word (`'a b'`, `'it'\''s'`); values of
///   only letters, digits and `_-./:@%+,` are written bare, so common commands read as before;
/// - inside "…": `$`, `` ` ``, `"` and `\` are escaped with a backslash;
/// - inside '…': a `'` is written as `'\''`;
/// - inside the script of `sh -c '…'` (or `bash -c`, …): quoted as above for the inner shell,
///   then that text quoted again for the outer one, so the inner shell sees one literal word.
///
/// A list value stands as one word per element where the token is unquoted (a way to pass
/// flags), and as its elements joined by spaces inside quotes; a map stands as its JSON.
/// `$${` writes a literal `${`.
public enum CommandTemplate {
    /// - `resolve` gets each token's expression and its offset (in Unicode scalars, as YAML
    ///   columns count) in `template`;
    ///   nil leaves the token as written, for a later pass.
    /// - `keepEscapes`: `$${` stays `$${`, and any `${` a value brings is written `$${`, so a
    ///   later pass over the result expands only the tokens still in it (the loader resolves
    ///   params now and leaves inputs and outputs for the runner).
    /// - `unterminated` gets the offset of a `${` without its `}`; the rest stays as written.
    /// - `unquotable` gets the offset of a token inside backquotes or a here-document.
    public static func expand(_ template: String, keepEscapes: Bool, unterminated: (Int) -> Void = { _ in },
                              unquotable: (Int) -> Void = { _ in }, resolve: (String, Int) -> Value?) -> String {
        // Each token is resolved once, up front, in a scan of the UTF-8 bytes (`$`, `{`, `}` are
        // ASCII, so they are never part of a longer character). When none resolves now (the
        // loader's pass over a command that names only inputs and outputs), nothing is quoted,
        // and the text is returned as written without lexing it — unless a backquote, `$'` or
        // `<<` could put a token where no quoting helps, which only the lexer can tell. This
        // keeps a no-op run of a 1000-stage pipeline as fast as before shell-safe interpolation.
        var values: [Int: Value] = [:]  // scalar offset of the token's `$` → value
        var hasToken = false
        var hasEscape = false
        var mayBeUnquotable = false
        var unterminatedAt: Int?
        var text = template
        text.withUTF8 { b in
            for (i, c) in b.enumerated() where c == UInt8(ascii: "`") || c == UInt8(ascii: "<") || c == UInt8(ascii: "$") {
                if c == UInt8(ascii: "`") { mayBeUnquotable = true; break }
                guard i + 1 < b.count else { break }
                if c == UInt8(ascii: "<") && b[i + 1] == UInt8(ascii: "<") { mayBeUnquotable = true; break }
                if c == UInt8(ascii: "$") && b[i + 1] == UInt8(ascii: "'") { mayBeUnquotable = true; break }
            }
            var i = 0
            var scalar = 0  // Unicode scalars before b[i]: what offsets count
            func advance(to j: Int) {
                while i < j { if b[i] & 0xC0 != 0x80 { scalar += 1 }; i += 1 }
            }
            while i + 1 < b.count {
                if b[i] == UInt8(ascii: "$"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "$"), b[i + 2] == UInt8(ascii: "{") {
                    hasToken = true
                    hasEscape = true
                    advance(to: i + 3)
                    continue
                }
                guard b[i] == UInt8(ascii: "$"), b[i + 1] == UInt8(ascii: "{") else { advance(to: i + 1); continue }
                hasToken = true
                var end = i + 2
                while end < b.count, b[end] != UInt8(ascii: "}") { end += 1 }
                guard end < b.count else { unterminatedAt = scalar; break }
                var expr = String(decoding: UnsafeBufferPointer(rebasing: b[(i + 2)..<end]), as: UTF8.self)
                if b[i + 2] == UInt8(ascii: " ") || b[end - 1] == UInt8(ascii: " ") { expr = expr.trimmingSpaces }
                if let value = resolve(expr, scalar) {
                    values[scalar] = value
                }
                advance(to: end + 1)
            }
        }
        guard hasToken else { return template }
        if values.isEmpty, !hasEscape || keepEscapes, !mayBeUnquotable {
            // A `${` without its `}`: report it where the full pass would.
            if let open = unterminatedAt { unterminated(open) }
            return template
        }
        let chars = Array(template.unicodeScalars)
        var lexer = ShellLexer()
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "$", i + 2 < chars.count, chars[i + 1] == "$", chars[i + 2] == "{" {
                out.append(contentsOf: (keepEscapes ? "$${" : "${").unicodeScalars)
                for ch in "${".unicodeScalars { lexer.feed(ch) }
                i += 3
                continue
            }
            guard c == "$", i + 1 < chars.count, chars[i + 1] == "{" else {
                out.append(c)
                lexer.feed(c)
                i += 1
                continue
            }
            guard let end = chars[(i + 2)...].firstIndex(of: "}") else {
                unterminated(i)
                for ch in chars[i...] { out.append(ch); lexer.feed(ch) }
                break
            }
            if lexer.cannotQuote { unquotable(i) }
            if let value = values[i] {
                var text = quoted(value, levels: lexer.levels.map(\.quote))
                if keepEscapes {
                    text = text.replacingOccurrences(of: "${", with: "$${")
                    // A final `$` next to a `{` or a `${…}` token would read as `$${` in the
                    // later pass: close and reopen the quotes, which adds nothing to the word.
                    if text.hasSuffix("$") { text += lexer.levels[0].quote == .double ? "\"\"" : "''" }
                }
                out.append(contentsOf: text.unicodeScalars)
                lexer.markValue()
            } else {
                out.append(contentsOf: chars[i...end])
                lexer.markValue()
            }
            i = end + 1
        }
        return String(out)
    }

    /// `value` as text that the innermost shell reads as literal words, wrapped for each shell
    /// above it.
    static func quoted(_ value: Value, levels: [ShellLexer.Quote]) -> String {
        let inner = levels.last ?? .none
        var text: String
        switch value {
        case .list(let items) where inner == .none:
            text = items.map { literal(word($0), in: .none) }.joined(separator: " ")
        case .list(let items):
            text = literal(items.map(word).joined(separator: " "), in: inner)
        default:
            text = literal(word(value), in: inner)
        }
        for q in levels.dropLast().reversed() { text = literal(text, in: q) }
        return text
    }

    private static func word(_ v: Value) -> String {
        switch v {
        case .list, .map: v.canonicalJSON
        default: v.displayString
        }
    }

    /// `s` written so that a shell in state `q` reads exactly `s`, within the current word.
    static func literal(_ s: String, in q: ShellLexer.Quote) -> String {
        switch q {
        case .none:
            if !s.isEmpty, s.unicodeScalars.allSatisfy(isSafe) { return s }
            return "'" + s.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
        case .single:
            return s.replacingOccurrences(of: "'", with: #"'\''"#)
        case .double:
            var out = ""
            for ch in s {
                if ch == "$" || ch == "`" || ch == "\"" || ch == "\\" { out.append("\\") }
                out.append(ch)
            }
            return out
        }
    }

    private static func isSafe(_ u: Unicode.Scalar) -> Bool {
        switch u {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".", "/", ":", "@", "%", "+", ",": true
        default: false
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
