import Foundation

/// On-disk forms of a tokenizer.
///
/// Anneal's own file (`tokenizer.json` of the stage is the HF one; this one is
/// `tokenizer.anneal.json`) is small and exact:
///
///     {"format": "anneal-bpe", "version": 1, "pre_tokenizer": "gpt2",
///      "special_tokens": ["<|endoftext|>", ...], "merges": [[left_id, right_id], ...]}
///
/// Ids are implied (specials, then 256 bytes, then merges), so the file cannot disagree
/// with itself. A different format or a newer version is refused with a clear error.
extension BPETokenizer {
    public static let formatName = "anneal-bpe"
    public static let formatVersion = 1

    struct AnnealFile: Codable {
        var format: String
        var version: Int
        var pre_tokenizer: String
        var special_tokens: [String]
        var merges: [[UInt32]]
    }

    public func annealJSON() throws -> Data {
        let file = AnnealFile(format: Self.formatName, version: Self.formatVersion, pre_tokenizer: "gpt2",
                              special_tokens: specialTokens, merges: merges.map { [$0.left, $0.right] })
        var data = try JSONLines.encoder().encode(file)
        data.append(0x0A)
        return data
    }

    public static func load(annealJSON data: Data, path: String = "tokenizer") throws -> BPETokenizer {
        let file: AnnealFile
        do { file = try JSONDecoder().decode(AnnealFile.self, from: data) } catch {
            throw TextError(.badFormat, "not an Anneal tokenizer file (\(error.localizedDescription))", file: path)
        }
        guard file.format == formatName else {
            throw TextError(.badFormat, "format '\(file.format)' is not '\(formatName)'", file: path)
        }
        guard file.version == formatVersion else {
            throw TextError(.badFormat, "tokenizer format version \(file.version) is not supported (this Anneal reads version \(formatVersion))", file: path)
        }
        guard file.pre_tokenizer == "gpt2" else {
            throw TextError(.badFormat, "unknown pre_tokenizer '\(file.pre_tokenizer)'", file: path)
        }
        var next = UInt32(file.special_tokens.count + 256)
        var pairs: [(UInt32, UInt32)] = []
        for (k, m) in file.merges.enumerated() {
            guard m.count == 2, m[0] < next, m[1] < next, m[0] >= UInt32(file.special_tokens.count),
                  m[1] >= UInt32(file.special_tokens.count) else {
                throw TextError(.badFormat, "merge \(k + 1) refers to an unknown or special token", file: path)
            }
            pairs.append((m[0], m[1]))
            next += 1
        }
        return BPETokenizer(specialTokens: file.special_tokens, merges: pairs)
    }

    /// Loads `tokenizer.anneal.json`, or that file inside `url` when `url` is a directory
    /// (a `tokenize` stage's `tokenizer` output).
    public static func load(contentsOf url: URL) throws -> BPETokenizer {
        var url = url
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            url = url.appendingPathComponent("tokenizer.anneal.json")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextError(.io, "cannot read tokenizer: \(LineReader.reason(error))", file: url.path)
        }
        return try load(annealJSON: data, path: url.path)
    }

    /// A Hugging Face `tokenizer.json` (format 1.0) that `tokenizers` loads with
    /// `Tokenizer.from_file` and that encodes to the same ids: a BPE model with the vocab
    /// and merges, a ByteLevel pre-tokenizer (GPT-2 regex, no prefix space) and decoder,
    /// special tokens as added tokens. `ignore_merges` stays false, so HF applies merges
    /// exactly as Anneal does. Written by hand so the bytes are stable (vocab in id order).
    public func huggingFaceJSON() -> Data {
        var s = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for (id, token) in specialTokens.enumerated() {
            s += id == 0 ? "\n" : ",\n"
            s += "    {\"id\": \(id), \"content\": \(Self.quote(token)), \"single_word\": false, \"lstrip\": false, "
                + "\"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        s += specialTokens.isEmpty ? "],\n" : "\n  ],\n"
        s += "  \"normalizer\": null,\n"
        s += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        s += "  \"post_processor\": null,\n"
        s += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
        s += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
        s += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
        s += "    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": {"
        for id in 0..<vocabSize {
            s += id == 0 ? "\n      " : ",\n      "
            s += "\(Self.quote(vocabString(UInt32(id)))): \(id)"
        }
        s += "\n    },\n    \"merges\": ["
        for (k, m) in merges.enumerated() {
            s += k == 0 ? "\n      " : ",\n      "
            s += "[\(Self.quote(vocabString(m.left))), \(Self.quote(vocabString(m.right)))]"
        }
        s += merges.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n"
        return Data(s.utf8)
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Writes both files into `directory`: `tokenizer.json` (HF) and `tokenizer.anneal.json`.
    @discardableResult
    public func write(to directory: URL) throws -> (huggingFace: URL, anneal: URL) {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hf = directory.appendingPathComponent("tokenizer.json")
        let own = directory.appendingPathComponent("tokenizer.anneal.json")
        try JSONLines.atomicWrite(huggingFaceJSON(), to: hf)
        try JSONLines.atomicWrite(try annealJSON(), to: own)
        return (hf, own)
    }
}
