import Foundation

/// A conversation for SFT: messages with roles `system`, `user` or `assistant`.
public struct Conversation: Sendable, Equatable, Codable {
    public var messages: [ChatPair.Message]
    public var file: String
    public var line: Int

    public init(messages: [ChatPair.Message], file: String, line: Int) {
        self.messages = messages
        self.file = file
        self.line = line
    }
}

/// A preference pair read from user data.
public struct PreferenceRecord: Sendable, Equatable {
    public var prompt: String
    public var chosen: String
    public var rejected: String
    public var file: String
    public var line: Int
    /// What the rejected answer gets wrong (TinyWorld's `wrong_pronoun`, `safe_refusal`, …),
    /// when the data says: the reward stage reports its held-out accuracy per kind.
    public var kind: String?

    public init(prompt: String, chosen: String, rejected: String, file: String, line: Int, kind: String? = nil) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.file = file
        self.line = line
        self.kind = kind
    }
}

/// Readers for chat data sets. Each accepts JSON Lines (streamed) or, when the file starts
/// with `[`, one JSON array (read whole: that layout cannot be streamed without a
/// streaming JSON parser, and alpaca files are commonly small arrays). "Line" in errors is
/// the JSONL line, or the 1-based array element for arrays.
public enum ChatFormat: String, Sendable, Codable {
    /// `{"instruction", "input"?, "output", "system"?}`: the user turn is the instruction,
    /// followed by a blank line and the input when there is one.
    case alpaca
    /// `{"conversations": [{"from": "human"|"gpt"|"system", "value"}]}` or the OpenAI-style
    /// `{"messages": [{"role", "content"}]}` (what TinyWorld writes).
    case sharegpt
}

public struct ChatReader {
    public let url: URL
    public let format: ChatFormat

    public init(url: URL, format: ChatFormat) {
        self.url = url
        self.format = format
    }

    @discardableResult
    public func forEach(_ body: (Conversation) throws -> Void) throws -> Int {
        let count = try JSONObjects.forEach(url) { object, file, line in
            try body(try conversation(object, file: file, line: line))
        }
        if count == 0 { throw TextError(.emptyInput, "empty input: no conversations", file: url.path) }
        return count
    }

    private func conversation(_ object: [String: Any], file: String, line: Int) throws -> Conversation {
        func string(_ key: String, required: Bool = true) throws -> String? {
            if let value = object[key] as? String { return value }
            if !required && (object[key] == nil || object[key] is NSNull) { return nil }
            throw TextError(.badLine, "\(format.rawValue): missing string field '\(key)'", file: file, line: line)
        }
        switch format {
        case .alpaca:
            let instruction = try string("instruction")!
            let input = try string("input", required: false) ?? ""
            var messages: [ChatPair.Message] = []
            if let system = try string("system", required: false), !system.isEmpty {
                messages.append(.init(role: "system", content: system))
            }
            messages.append(.init(role: "user", content: input.isEmpty ? instruction : instruction + "\n\n" + input))
            messages.append(.init(role: "assistant", content: try string("output")!))
            return Conversation(messages: messages, file: file, line: line)
        case .sharegpt:
            let roles = ["human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                         "system": "system", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant"]
            let (key, roleKey, textKey) = object["conversations"] != nil ? ("conversations", "from", "value")
                                                                        : ("messages", "role", "content")
            guard let turns = object[key] as? [[String: Any]], !turns.isEmpty else {
                throw TextError(.badLine, "sharegpt: expected a non-empty array 'conversations' (or 'messages')", file: file, line: line)
            }
            let messages = try turns.enumerated().map { index, turn -> ChatPair.Message in
                guard let who = turn[roleKey] as? String, let role = roles[who.lowercased()] else {
                    throw TextError(.badLine, "sharegpt: turn \(index + 1) has unknown '\(roleKey)' \(turn[roleKey].map { "\($0)" } ?? "(missing)")", file: file, line: line)
                }
                guard let text = turn[textKey] as? String else {
                    throw TextError(.badLine, "sharegpt: turn \(index + 1) has no string '\(textKey)'", file: file, line: line)
                }
                return .init(role: role, content: text)
            }
            return Conversation(messages: messages, file: file, line: line)
        }
    }
}

/// Preference pairs: `{"prompt", "chosen", "rejected", "kind"?}` (what TinyWorld writes).
public struct PreferenceReader {
    public let url: URL

    public init(url: URL) { self.url = url }

    @discardableResult
    public func forEach(_ body: (PreferenceRecord) throws -> Void) throws -> Int {
        let count = try JSONObjects.forEach(url) { object, file, line in
            var fields: [String] = []
            for key in ["prompt", "chosen", "rejected"] {
                guard let value = object[key] as? String else {
                    throw TextError(.badLine, "preferences: missing string field '\(key)'", file: file, line: line)
                }
                fields.append(value)
            }
            let kind = object["kind"]
            guard kind == nil || kind is NSNull || kind is String else {
                throw TextError(.badLine, "preferences: field 'kind' must be a string", file: file, line: line)
            }
            try body(PreferenceRecord(prompt: fields[0], chosen: fields[1], rejected: fields[2], file: file, line: line, kind: kind as? String))
        }
        if count == 0 { throw TextError(.emptyInput, "empty input: no preference pairs", file: url.path) }
        return count
    }
}

/// JSON objects from a JSONL file (streamed) or a JSON array file.
enum JSONObjects {
    static func forEach(_ url: URL, _ body: ([String: Any], String, Int) throws -> Void) throws -> Int {
        var count = 0
        for file in try DocumentReader.files(at: url) {
            if try startsWithBracket(file) {
                let data: Data
                do { data = try Data(contentsOf: file) } catch {
                    throw TextError(.io, "cannot read: \(LineReader.reason(error))", file: file.path)
                }
                guard String(data: data, encoding: .utf8) != nil else {
                    throw TextError(.invalidUTF8, "invalid UTF-8 (the file must be UTF-8 text)", file: file.path)
                }
                let parsed: Any
                do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
                    throw TextError(.badFormat, "invalid JSON array: \(LineReader.reason(error))", file: file.path)
                }
                guard let array = parsed as? [Any] else {
                    throw TextError(.badFormat, "expected a JSON array of objects", file: file.path)
                }
                for (index, element) in array.enumerated() {
                    guard let object = element as? [String: Any] else {
                        throw TextError(.badLine, "element \(index + 1) is not an object", file: file.path, line: index + 1)
                    }
                    try body(object, file.path, index + 1)
                    count += 1
                }
            } else {
                try LineReader(url: file).forEachLine { line, number in
                    guard !line.allSatisfy(\.isWhitespace) else { return }
                    try body(try JSONRecord.object(line, file: file.path, line: number), file.path, number)
                    count += 1
                }
            }
        }
        return count
    }

    private static func startsWithBracket(_ file: URL) throws -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: file) else {
            throw TextError(.io, "cannot open", file: file.path)
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        return head.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) } == UInt8(ascii: "[")
    }
}
