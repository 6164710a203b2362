/// A conversation kept as token ids, for `anneal chat`: each message is encoded once with
/// the template (content as plain text), and an answer keeps the ids the model produced
/// rather than a re-encoding of its text (BPE could split it differently). When the
/// conversation outgrows the model's context, the oldest exchanges are left out of the
/// prompt (the system message always stays).
public struct ChatHistory: Sendable {
    public let system: [UInt32]
    /// Encoded messages after the system one, alternating user and assistant.
    public private(set) var messages: [[UInt32]] = []
    let assistantTag: UInt32
    let endTag: UInt32
    let endOfText: UInt32?

    /// nil when the tokenizer lacks the template's special tokens.
    public init?(system text: String?, encoder: inout BPEEncoder) {
        let t = encoder.tokenizer
        guard ChatTemplate.isSupported(by: t), let a = t.id(ofSpecial: ChatTemplate.assistant),
              let e = t.id(ofSpecial: ChatTemplate.end) else { return nil }
        assistantTag = a
        endTag = e
        endOfText = t.id(ofSpecial: ChatTemplate.endOfText)
        system = text.map { ChatTemplate.encode([.init(role: "system", content: $0)], with: &encoder).ids } ?? []
    }

    /// Where an answer ends: `<|end|>`, or `<|endoftext|>` from a model that closes turns with it.
    public var stopTokens: [UInt32] { [endTag] + (endOfText.map { [$0] } ?? []) }

    public static func user(_ text: String, encoder: inout BPEEncoder) -> [UInt32] {
        ChatTemplate.encode([.init(role: "user", content: text)], with: &encoder).ids
    }

    /// The prompt for `user` (an encoded user message): the system message, the most recent
    /// exchanges that fit in `limit` tokens with it, `user` and `<|assistant|>`. nil when
    /// even the system message, `user` and the tag exceed `limit`. `dropped` counts the
    /// earlier messages left out.
    public func prompt(for user: [UInt32], limit: Int) -> (ids: [UInt32], dropped: Int)? {
        let fixed = system.count + user.count + 1
        guard fixed <= limit else { return nil }
        var start = 0
        var total = fixed + messages.reduce(0) { $0 + $1.count }
        // Drop whole exchanges (user + assistant) from the front so no answer loses its question.
        while total > limit {
            let n = min(2, messages.count - start)
            total -= messages[start..<(start + n)].reduce(0) { $0 + $1.count }
            start += n
        }
        return (system + messages[start...].flatMap { $0 } + user + [assistantTag], start)
    }

    /// Adds an exchange: `user` as encoded for `prompt`, and the answer's generated ids
    /// (a final stop token included or not); it is closed with `<|end|>` whatever stopped
    /// it, so the next turn starts as the template writes it.
    public mutating func record(user: [UInt32], answer: [UInt32]) {
        var closed = answer
        if let last = closed.last, stopTokens.contains(last) { closed.removeLast() }
        closed.append(endTag)
        messages.append(user)
        messages.append([assistantTag] + closed)
    }

    public mutating func reset() { messages.removeAll() }
}
