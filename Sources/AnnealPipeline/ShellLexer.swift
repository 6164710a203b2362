/// Just enough of a POSIX shell's lexer to know, at any point of a command line, how a shell
/// would read the next characters: unquoted, inside '…' or inside "…". When the current word
/// is the script of `sh -c` (or `bash -c`, `-ec`, …), the text the outer shell hands to the
/// inner one is lexed again one level down, so `sh -c 'cat ${inputs.x}'` is known to put the
/// token unquoted in the inner shell, inside single quotes in the outer one.
///
/// It follows `$(…)` (read unquoted, also within "…"). Backquotes, bash's `$'…'` and
/// here-documents are only recognised (`cannotQuote`): no quoting makes a value literal there.
/// `case` patterns' `)` inside `$(…)` are not told apart from its end.
struct ShellLexer {
    enum Quote { case none, single, double }

    struct Level {
        var quote = Quote.none
        var escaped = false
        var comment = false
        /// Words of the current simple command, after quote removal; a token shows as U+0001.
        /// Only the first `wordLimit` words, each cut at `wordLimit` bytes after its last `/` (so
        /// `/nix/store/…/bin/bash` keeps its name), are kept: enough to see `env X=1 sh -c`, and
        /// a hostile megabyte-long command stays linear.
        var words: [String] = []
        var word = ""
        var inWord = false
        var isLong = false
        /// For each open `$(…)` (and `(` inside one), this level as it was before it and the
        /// levels below it: the shell of this level runs `$(…)` itself, unquoted even within
        /// "…", and shells below see only its output. Its `)` brings them back.
        var outer: [(level: Level, inner: [Level])] = []
        var afterDollar = false
        /// Inside backquotes, bash's `$'…'`, or in the body of a here-document (its delimiter
        /// read from the word after `<<`): the shell reads a value there in ways no quoting
        /// makes literal.
        var backquoted = false
        var ansiQuoted = false
        var hereDelimiter: String?
        var hereNext = false
        var hereBody = false
        var hereLine = ""
    }

    /// Whether text here is in backquotes, `$'…'` or a here-document, at any level.
    var cannotQuote: Bool { levels.contains { $0.backquoted || $0.ansiQuoted || $0.hereBody } }

    static let wordLimit = 64
    static let maxSubstitutions = 64

    /// levels[0] is the shell that runs the command; each further level is the shell started
    /// by `sh -c` with the current word of the level above as its script.
    private(set) var levels = [Level()]
    static let maxLevels = 4
    /// Programs whose `-c` word is a shell script (`su` and `runuser` hand it to a login shell).
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "su", "runuser"]

    /// Unicode scalars, not Characters: a shell reads bytes, and a quote followed by a
    /// combining mark is one Character but still a quote to `sh` (grapheme breaking was also
    /// most of a no-op run's lexing time).
    mutating func feed(_ c: Unicode.Scalar) { feed(c, level: 0) }

    /// A token's value now stands in the current word of every level.
    mutating func markValue() {
        for k in levels.indices {
            if !levels[k].inWord { levels[k].inWord = true; levels[k].word = "" }
            if levels[k].word.utf8.count < Self.wordLimit { levels[k].word += "\u{1}" }
        }
    }

    private mutating func feed(_ c: Unicode.Scalar, level k: Int) {
        // Moved out and back, not copied: a copy would share `word`'s buffer with `levels[k]`,
        // and every append would then copy the word (a third of a no-op run went there).
        var l = Level()
        swap(&l, &levels[k])
        defer { if k < levels.count { swap(&l, &levels[k]) } }
        if l.comment {
            if c == "\n" { l.comment = false; endCommand(&l, level: k) }
            return
        }
        if l.hereBody {
            if c != "\n" {
                if l.hereLine.utf8.count <= Self.wordLimit { l.hereLine.unicodeScalars.append(c) }
            } else {
                if l.hereLine.drop(while: { $0 == "\t" }) == l.hereDelimiter ?? "" { l.hereBody = false; l.hereDelimiter = nil }
                l.hereLine = ""
            }
            return
        }
        let afterDollar = l.afterDollar
        l.afterDollar = false
        if l.escaped {
            l.escaped = false
            if c == "\n" { return }  // a line continuation
            if l.quote == .double, !"$`\"\\".unicodeScalars.contains(c) { emit("\\", &l, level: k) }
            emit(c, &l, level: k)
            return
        }
        switch l.quote {
        case .single:
            if c == "'" {
                l.quote = .none
                l.ansiQuoted = false
            } else if c == "\\" && l.ansiQuoted {
                l.escaped = true
            } else {
                emit(c, &l, level: k)
            }
        case .double:
            if c == "\"" {
                l.quote = .none
            } else if c == "\\" {
                l.escaped = true
            } else if c == "`" {
                l.backquoted.toggle()
                emit(c, &l, level: k)
            } else if c == "(" && afterDollar && l.outer.count < Self.maxSubstitutions {
                openSubstitution(&l, level: k)
            } else {
                l.afterDollar = c == "$"
                emit(c, &l, level: k)
            }
        case .none:
            switch c {
            case "'": startWord(&l, level: k); l.quote = .single; l.ansiQuoted = afterDollar
            case "\"": startWord(&l, level: k); l.quote = .double
            case "\\": startWord(&l, level: k); l.escaped = true
            case " ", "\t": endWord(&l, level: k)
            case "(" where (afterDollar || !l.outer.isEmpty) && l.outer.count < Self.maxSubstitutions:
                openSubstitution(&l, level: k)
            case ")" where !l.outer.isEmpty:
                endWord(&l, level: k)
                let (saved, inner) = l.outer.removeLast()
                var stack = l.outer
                l.outer = []  // moves the stack: it is not copied for every `)`
                l = saved
                swap(&l.outer, &stack)
                levels.append(contentsOf: inner)
            case "`":
                l.backquoted.toggle()
                emit(c, &l, level: k)
            case "\n", ";", "|", "&", "(", ")":
                endWord(&l, level: k); endCommand(&l, level: k)
                if c == "\n", l.hereDelimiter != nil { l.hereBody = true }
            case "#" where !l.inWord: l.comment = true
            default:
                l.afterDollar = c == "$"
                emit(c, &l, level: k)
            }
        }
    }

    private mutating func openSubstitution(_ l: inout Level, level k: Int) {
        var stack: [(level: Level, inner: [Level])] = []
        swap(&stack, &l.outer)
        stack.append((l, Array(levels[(k + 1)...])))
        if levels.count > k + 1 { levels.removeSubrange((k + 1)...) }
        l = Level()
        l.outer = stack
    }

    private mutating func emit(_ c: Unicode.Scalar, _ l: inout Level, level k: Int) {
        startWord(&l, level: k)
        if c == "/" { l.word = "" } else if l.word.utf8.count < Self.wordLimit { l.word.unicodeScalars.append(c) }
        if k + 1 < levels.count {
            levels[k] = l
            feed(c, level: k + 1)
            l = levels[k]
        }
    }

    private mutating func startWord(_ l: inout Level, level k: Int) {
        guard !l.inWord else { return }
        l.inWord = true
        l.word = ""
        // The word after `-c` of a shell is a script for a shell one level down.
        if levels.count == k + 1, k + 1 < Self.maxLevels, !l.isLong, let flag = l.words.last, Self.isScriptFlag(flag),
           Self.runsShell(l.words.dropLast()) {
            levels[k] = l
            levels.append(Level())
        }
    }

    private mutating func endWord(_ l: inout Level, level k: Int) {
        guard l.inWord else { return }
        if l.words.count < Self.wordLimit { l.words.append(l.word) } else { l.isLong = true }
        if l.hereNext {
            l.hereDelimiter = l.word
            l.hereNext = false
        } else if let r = l.word.range(of: "<<"), !l.word.contains("<<<") {
            let d = l.word[r.upperBound...].drop { $0 == "-" }
            if d.isEmpty { l.hereNext = true } else { l.hereDelimiter = String(d) }
        }
        l.inWord = false
        if levels.count > k + 1 { levels.removeSubrange((k + 1)...) }
    }

    private func endCommand(_ l: inout Level, level k: Int) {
        l.words = []
        l.isLong = false
    }

    /// Whether these words, before a `-c`, start a shell: `sh`, `/bin/bash -e`, `env X=1 sh`,
    /// and also `find . -exec sh`, `xargs sh`. A program that merely takes `sh` as an argument
    /// gets its value quoted twice, which is wrong but never runs it as code.
    static func runsShell(_ words: ArraySlice<String>) -> Bool {
        words.contains { shells.contains(String($0.split(separator: "/").last ?? "")) }
    }

    /// `-c`, or a cluster of single-letter options ending in `c` (`-ec`, `-xc`).
    static func isScriptFlag(_ w: String) -> Bool {
        w.count >= 2 && w.hasPrefix("-") && !w.hasPrefix("--") && w.hasSuffix("c") && w.dropFirst().allSatisfy(\.isLetter)
    }
}
