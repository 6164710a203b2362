/// The chat template shared by the tokenizer (its special tokens), SFT, the reward model
/// and eval: `<|system|>…<|end|><|user|>…<|end|><|assistant|>…<|end|>`, documents in
/// pretraining shards separated by `<|endoftext|>`.
public enum ChatTemplate {
    public static let endOfText = "<|endoftext|>"
    public static let system = "<|system|>"
    public static let user = "<|user|>"
    public static let assistant = "<|assistant|>"
    public static let end = "<|end|>"
    /// In id order: `<|endoftext|>` is id 0.
    public static let specialTokens = [endOfText, system, user, assistant, end]

    /// The full text of a conversation.
    public static func render(_ messages: [ChatPair.Message]) -> String {
        messages.map { tag(for: $0.role) + $0.content + end }.joined()
    }

    /// A prompt ending where the assistant's answer starts.
    public static func prompt(user text: String, system systemText: String? = nil) -> String {
        (systemText.map { system + $0 + end } ?? "") + user + text + end + assistant
    }

    static func tag(for role: String) -> String {
        switch role {
        case "system": return system
        case "assistant": return assistant
        default: return user
        }
    }
}

/// Splits text around special tokens (exact matches, leftmost first, longest first at the
/// same position), so they are encoded as single ids and never split by BPE.
enum SpecialTokenSplitter {
    struct Segment {
        var text: String
        var isSpecial: Bool
    }

    static func segments(_ text: String, _ specials: [String]) -> [Segment] {
        guard !specials.isEmpty else { return [Segment(text: text, isSpecial: false)] }
        let patterns = specials.map { Array($0.utf8) }.sorted { $0.count > $1.count }
        let firstBytes = Set(patterns.compactMap(\.first))
        var copy = text
        return copy.withUTF8 { p -> [Segment] in
            var result: [Segment] = []
            var start = 0, i = 0
            let n = p.count
            while i < n {
                if firstBytes.contains(p[i]), let match = patterns.first(where: { pattern in
                    i + pattern.count <= n && pattern.indices.allSatisfy { p[i + $0] == pattern[$0] }
                }) {
                    if i > start { result.append(Segment(text: String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self), isSpecial: false)) }
                    result.append(Segment(text: String(decoding: match, as: UTF8.self), isSpecial: true))
                    i += match.count
                    start = i
                } else {
                    i += 1
                }
            }
            if start < n || result.isEmpty {
                result.append(Segment(text: String(decoding: UnsafeBufferPointer(rebasing: p[start..<n]), as: UTF8.self), isSpecial: false))
            }
            return result
        }
    }
}
