/// `run:` commands: `${seed}`, `${name}` and `${params.…}` are written in now, quoted for
/// where they stand (see `CommandTemplate`); `${inputs.…}` and `${outputs.…}` are checked
/// and left, with every `$${`, for the runner's pass.
extension LoadContext {
    mutating func interpolateCommand(_ text: String, mark: SourceMark, globals: Globals,
                                     io: (inputs: [String], outputs: [String]), referenced: inout [String: Value]) -> String {
        func at(_ offset: Int) -> SourceMark {
            SourceMark(file: mark.file, line: mark.line, column: mark.column + offset)
        }
        var problems: [SourceMark] = []
        var unquotable: [SourceMark] = []
        let out = CommandTemplate.expand(text, keepEscapes: true, unterminated: { problems.append(at($0)) },
                                         unquotable: { unquotable.append(at($0)) }) { expr, offset in
            lookup(expr, at: at(offset), globals: globals, io: io, referenced: &referenced)
        }
        for p in problems { error(p, "unterminated '${' (add the closing '}')") }
        for p in unquotable {
            error(p, "a '${…}' inside backquotes, $'…' or a here-document cannot be kept literal; use \"$(…)\" instead of backquotes, and write the value with printf '%s' ${…} instead of a here-document")
        }
        return out
    }
}
