import AnnealText

/// One conversation as SFT sees it: the template's token ids and, per id, whether the model
/// is trained to produce it (an assistant's content and the `<|end|>` closing it). Content
/// is encoded as plain text, so a special-token string inside it (`<|end|>` typed by a user)
/// stays ordinary bytes; only the template inserts special ids.
public struct SFTExample: Sendable, Equatable {
    public var ids: [Int32]
    public var isTarget: [Bool]
    /// `file:line` of the conversation, for errors.
    public var source: String

    public init(ids: [Int32], isTarget: [Bool], source: String) {
        precondition(ids.count == isTarget.count, "\(ids.count) ids with \(isTarget.count) mask entries")
        self.ids = ids
        self.isTarget = isTarget
        self.source = source
    }

    public var targetCount: Int { isTarget.dropFirst().filter { $0 }.count }
}

/// Errors of SFT and reward data, naming the example (`file:line`) and what to change.
public struct TrainDataError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum SFTEncoding {
    /// `conversation` through the chat template, cut to `maxTokens` (block_size + 1: a row
    /// of inputs plus the last target). Throws when the tokenizer lacks the template's
    /// tokens or nothing is left to train on (no assistant message, or all of it past the
    /// cut): such an example would add a silent zero to the loss.
    public static func encode(_ conversation: Conversation, maxTokens: Int,
                              encoder: inout BPEEncoder) throws(TrainDataError) -> SFTExample {
        precondition(maxTokens >= 2, "an SFT row needs at least one input and one target")
        let source = "\(conversation.file):\(conversation.line)"
        guard ChatTemplate.isSupported(by: encoder.tokenizer) else {
            throw TrainDataError("the tokenizer lacks the chat template's special tokens (\(ChatTemplate.specialTokens.joined(separator: " "))); train it with them (the tokenize stage's default special_tokens)")
        }
        let (ids, mask) = ChatTemplate.encode(conversation.messages, with: &encoder)
        let n = min(ids.count, maxTokens)
        let example = SFTExample(ids: ids.prefix(n).map { Int32($0) }, isTarget: Array(mask.prefix(n)), source: source)
        guard example.targetCount > 0 else {
            let why = mask.contains(true)
                ? "its assistant tokens start after the first \(maxTokens) tokens (block_size + 1); raise block_size or shorten the prompt"
                : "it has no assistant message"
            throw TrainDataError("\(source): nothing to train on: \(why)")
        }
        return example
    }
}
