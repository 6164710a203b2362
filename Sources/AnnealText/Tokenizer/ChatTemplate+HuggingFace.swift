import Foundation

extension ChatTemplate {
    /// `render` (plus `<|assistant|>` with `add_generation_prompt`) as a Jinja template for
    /// transformers' `apply_chat_template`: a system, user or assistant tag, the content,
    /// `<|end|>`; any other role is tagged as a user, as `tag(for:)` does. Rendering the same
    /// messages gives the same text (the export check compares them). One difference is
    /// inherent: transformers then tokenizes special-token strings inside message content as
    /// special tokens, while Anneal's `encode(_:with:)` keeps content plain text.
    public static let jinja = "{% for message in messages %}"
        + "{% if message['role'] == 'system' %}\(system)"
        + "{% elif message['role'] == 'assistant' %}\(assistant)"
        + "{% else %}\(user){% endif %}"
        + "{{ message['content'] }}\(end){% endfor %}"
        + "{% if add_generation_prompt %}\(assistant){% endif %}"

    /// Whether `tokenizer` has every special token the template writes.
    public static func isSupported(by tokenizer: BPETokenizer) -> Bool {
        [system, user, assistant, end].allSatisfy { tokenizer.id(ofSpecial: $0) != nil }
    }
}

extension BPETokenizer {
    /// `tokenizer_config.json` for transformers' `AutoTokenizer`: the fast tokenizer over
    /// `tokenizer.json`, `<|endoftext|>` as bos, eos and pad (GPT-2 has no pad token of its
    /// own), every special token in `added_tokens_decoder`, and the chat template when the
    /// tokenizer has its tokens. No token is added around encoded text, as in Anneal.
    public func huggingFaceTokenizerConfig(modelMaxLength: Int) -> Data {
        let eot = id(ofSpecial: ChatTemplate.endOfText) != nil ? Self.quote(ChatTemplate.endOfText) : "null"
        var s = "{\n  \"add_bos_token\": false,\n  \"add_eos_token\": false,\n  \"added_tokens_decoder\": {"
        for (i, token) in specialTokens.enumerated() {
            s += i == 0 ? "\n" : ",\n"
            s += "    \"\(i)\": {\"content\": \(Self.quote(token)), \"lstrip\": false, \"normalized\": false, "
                + "\"rstrip\": false, \"single_word\": false, \"special\": true}"
        }
        s += specialTokens.isEmpty ? "},\n" : "\n  },\n"
        s += "  \"bos_token\": \(eot),\n"
        if ChatTemplate.isSupported(by: self) { s += "  \"chat_template\": \(Self.quote(ChatTemplate.jinja)),\n" }
        s += "  \"clean_up_tokenization_spaces\": false,\n"
        s += "  \"eos_token\": \(eot),\n"
        s += "  \"model_max_length\": \(modelMaxLength),\n"
        s += "  \"pad_token\": \(eot),\n"
        s += "  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n"
        s += "  \"unk_token\": null\n}\n"
        return Data(s.utf8)
    }

    /// `special_tokens_map.json` (older transformers read bos/eos/pad from here).
    public func huggingFaceSpecialTokensMap() -> Data {
        guard id(ofSpecial: ChatTemplate.endOfText) != nil else { return Data("{}\n".utf8) }
        let eot = Self.quote(ChatTemplate.endOfText)
        return Data("{\n  \"bos_token\": \(eot),\n  \"eos_token\": \(eot),\n  \"pad_token\": \(eot)\n}\n".utf8)
    }
}
