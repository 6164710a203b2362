import Foundation

extension BPETokenizer {
    /// Reads back a Hugging Face `tokenizer.json` that Anneal wrote (`huggingFaceJSON()`):
    /// a byte-level BPE whose ids are the special tokens (0..<S), the 256 bytes in order,
    /// then one token per merge in merge order. Any other layout is refused with what
    /// differs, since ids would not mean what Anneal's encoder thinks they mean. Lets chat
    /// and generate open a model directory that carries only `tokenizer.json` (an export).
    public static func load(huggingFaceJSON data: Data, path: String = "tokenizer.json") throws -> BPETokenizer {
        func bad(_ why: String) -> TextError {
            TextError(.badFormat, "not a tokenizer.json with Anneal's byte-level BPE layout: \(why); use the tokenizer.anneal.json of the tokenize stage", file: path)
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw bad("the file is not a JSON object")
        }
        guard let model = root["model"] as? [String: Any], model["type"] as? String == "BPE",
              let vocab = model["vocab"] as? [String: Int], let rawMerges = model["merges"] as? [Any] else {
            throw bad("no BPE model with a vocab and merges")
        }
        let added = (root["added_tokens"] as? [[String: Any]] ?? []).compactMap { t -> (Int, String)? in
            guard let id = t["id"] as? Int, let content = t["content"] as? String else { return nil }
            return (id, content)
        }.sorted { $0.0 < $1.0 }
        for (expected, (id, token)) in added.enumerated() where id != expected {
            throw bad("special token '\(token)' has id \(id), expected \(expected) (special tokens come first)")
        }
        let specials = added.map(\.1)
        let S = specials.count
        for byte in 0..<256 {
            let piece = ByteLevel.encode([UInt8(byte)])
            guard vocab[piece] == S + byte else {
                throw bad("byte \(byte) ('\(piece)') has id \(vocab[piece].map(String.init) ?? "none"), expected \(S + byte)")
            }
        }
        var pairs: [(UInt32, UInt32)] = []
        for (k, raw) in rawMerges.enumerated() {
            let parts: [String]
            if let pair = raw as? [String] { parts = pair } else if let text = raw as? String {
                parts = text.split(separator: " ", maxSplits: 1).map(String.init)
            } else { parts = [] }
            guard parts.count == 2, let left = vocab[parts[0]], let right = vocab[parts[1]], left >= S, right >= S,
                  vocab[parts[0] + parts[1]] == S + 256 + k else {
                throw bad("merge \(k + 1) (\(parts.joined(separator: " "))) does not make token \(S + 256 + k)")
            }
            pairs.append((UInt32(left), UInt32(right)))
        }
        guard vocab.count == S + 256 + pairs.count else {
            throw bad("the vocab has \(vocab.count) entries for \(S) special tokens, 256 bytes and \(pairs.count) merges")
        }
        return BPETokenizer(specialTokens: specials, merges: pairs)
    }
}
