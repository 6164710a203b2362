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

/// Finds special tokens in text (exact matches, leftmost first, longest first at the same
/// position), so they are encoded as single ids and never split by BPE. Built once per
/// tokenizer; text without any special token's first byte costs one byte scan.
struct SpecialTokenMatcher: Sendable, Equatable {
    /// (bytes, index into the special-token list), longest first.
    private let patterns: [([UInt8], Int)]
    private let isFirstByte: [Bool]

    init(_ specials: [String]) {
        patterns = specials.enumerated().map { (Array($1.utf8), $0) }.filter { !$0.0.isEmpty }
            .sorted { $0.0.count != $1.0.count ? $0.0.count > $1.0.count : $0.1 < $1.1 }
        var first = [Bool](repeating: false, count: 256)
        for (bytes, _) in patterns { first[Int(bytes[0])] = true }
        isFirstByte = first
    }

    static func == (a: SpecialTokenMatcher, b: SpecialTokenMatcher) -> Bool { a.isFirstByte == b.isFirstByte }

    /// Calls `ordinary` for each stretch of text between special tokens and `special` with
    /// the index of each special token, in order.
    @inline(__always)
    func scan(_ p: UnsafeBufferPointer<UInt8>, ordinary: (Range<Int>) -> Void, special: (Int) -> Void) {
        let n = p.count
        var start = 0, i = 0
        while i < n {
            if isFirstByte[Int(p[i])], let (bytes, index) = match(p, at: i) {
                if i > start { ordinary(start..<i) }
                special(index)
                i += bytes.count
                start = i
            } else {
                i += 1
            }
        }
        if start < n { ordinary(start..<n) }
    }

    @inline(never)
    private func match(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> ([UInt8], Int)? {
        patterns.first { bytes, _ in
            i + bytes.count <= p.count && bytes.indices.allSatisfy { p[i + $0] == bytes[$0] }
        }
    }
}

extension ChatTemplate {
    /// Ids of a conversation rendered with the template, and a mask that is true on the
    /// tokens an assistant produced (its content and the `<|end|>` that closes it), the
    /// tokens SFT and reward models train on. Message text is encoded with specials off,
    /// so user text cannot inject control tokens.
    public static func encode(_ messages: [ChatPair.Message], with encoder: inout BPEEncoder) -> (ids: [UInt32], isAssistant: [Bool]) {
        let t = encoder.tokenizer
        var ids: [UInt32] = []
        var mask: [Bool] = []
        guard let endID = t.id(ofSpecial: end) else {
            preconditionFailure("the tokenizer lacks the chat template's special tokens")
        }
        for message in messages {
            guard let tagID = t.id(ofSpecial: tag(for: message.role)) else {
                preconditionFailure("the tokenizer lacks the chat template's special tokens")
            }
            ids.append(tagID)
            mask.append(false)
            let content = encoder.encode(message.content, allowSpecial: false)
            let isAssistant = message.role == "assistant"
            ids += content
            ids.append(endID)
            mask += Array(repeating: isAssistant, count: content.count + 1)
        }
        return (ids, mask)
    }
}
