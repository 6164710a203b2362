import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import ArgumentParser
import Foundation

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Chat with a model through the chat template.",
        discussion: """
            Each line read is a user message; the answer follows. /reset clears the history, \
            /exit (or end of input) quits. Standard input that is not a terminal is read the same \
            way, a line at a time. --prompt TEXT asks one question, prints the answer and exits. \
            --json prints one JSON object per answer (JSON Lines): turn, prompt_tokens, \
            dropped_messages, ids, text, stop.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Ask this one question, print the answer and exit.")
    var prompt: String?
    @Option(help: "A system message that opens the conversation.")
    var system: String?
    @OptionGroup var sampling: SamplingFlags
    @Flag(help: "Print each answer as one JSON line.")
    var json = false

    func run() throws {
        let dir = try model.modelDirectory()
        let gpt = try model.loadModel(from: dir)
        let tokenizer = try model.loadTokenizer(modelDirectory: dir, model: gpt)
        var encoder = BPEEncoder(tokenizer)
        guard var history = ChatHistory(system: system, encoder: &encoder) else {
            throw UsageError("the tokenizer has no chat template tokens (\(ChatTemplate.specialTokens.joined(separator: " "))); use `anneal generate` for plain continuation")
        }
        let options = sampling.options(stopTokens: history.stopTokens)
        var session = Session(gpt: gpt, tokenizer: tokenizer, options: options, rng: RNG(seed: sampling.seed), json: json,
                              streams: !json && isatty(STDOUT_FILENO) == 1)
        if let prompt {
            guard try session.answer(prompt, encoder: &encoder, history: &history) else { throw Failure(code: Exit.invalid) }
            return
        }
        let interactive = isatty(STDIN_FILENO) == 1
        if interactive {
            printError("chat with \(model.model) (\(gpt.config.layers) layers, context \(gpt.config.contextLength)); /reset clears the history, /exit or Ctrl-D quits")
        }
        while true {
            if interactive { FileHandle.standardError.write(Data("> ".utf8)) }
            guard let line = readLine(strippingNewline: true) else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            switch text {
            case "": continue
            case "/exit", "/quit": return
            case "/reset":
                history.reset()
                if interactive { printError("(history cleared)") }
            case _ where text.hasPrefix("/") && !text.contains(" "):
                printError("unknown command \(text); commands: /reset, /exit")
            default:
                _ = try session.answer(line, encoder: &encoder, history: &history)
            }
        }
    }

    /// One conversation's sampling state: a single RNG across turns, so a seed and the same
    /// lines replay the same session.
    struct Session {
        let gpt: GPT
        let tokenizer: BPETokenizer
        let options: SamplingOptions
        var rng: RNG
        let json: Bool
        /// Print tokens as they come (a terminal), not the whole answer at the end.
        let streams: Bool
        var turn = 0

        /// Answers `text` and records the exchange; false (after saying why) when the
        /// message does not fit in the context.
        mutating func answer(_ text: String, encoder: inout BPEEncoder, history: inout ChatHistory) throws -> Bool {
            let user = ChatHistory.user(text, encoder: &encoder)
            let context = gpt.config.contextLength
            guard let (prompt, dropped) = history.prompt(for: user, limit: context) else {
                printError("error: the message has \(user.count) tokens; with the system message and the template it does not fit in the model's context of \(context) tokens; shorten it")
                return false
            }
            turn += 1
            var printer = StreamPrinter()
            let ids = gpt.generate(prompt: prompt.map { Int32($0) }, options: options, rng: &rng) { [streams, options, tokenizer] token, _ in
                if streams && !options.stopTokens.contains(token) { printer.add(tokenizer.bytes(of: UInt32(token))) }
                return true
            }
            history.record(user: user, answer: ids.map { UInt32($0) })
            let answer = tokenizer.decode(ids.filter { !options.stopTokens.contains($0) }.map { UInt32($0) })
            if json {
                let v: Value = .map([
                    "turn": .int(turn), "prompt_tokens": .int(prompt.count), "dropped_messages": .int(dropped),
                    "ids": .list(ids.map { .int(Int($0)) }), "text": .string(answer),
                    "stop": .string(stopReason(ids, options: options)),
                ])
                FileHandle.standardOutput.write(Data((v.canonicalJSON + "\n").utf8))
            } else if streams {
                printer.finish()
            } else {
                FileHandle.standardOutput.write(Data((answer + "\n").utf8))
            }
            return true
        }
    }
}

/// Writes token bytes to stdout as soon as they form whole UTF-8 characters (a character can
/// span tokens), then the rest and a newline at the end.
struct StreamPrinter {
    private var pending: [UInt8] = []

    mutating func add(_ bytes: [UInt8]) {
        pending += bytes
        let n = Self.completePrefix(pending)
        guard n > 0 else { return }
        FileHandle.standardOutput.write(Data(pending[0..<n]))
        pending.removeFirst(n)
    }

    mutating func finish() {
        FileHandle.standardOutput.write(Data(String(decoding: pending, as: UTF8.self).utf8) + Data("\n".utf8))
        pending = []
    }

    /// Bytes up to the start of a trailing multi-byte sequence that is still incomplete.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1, back = 0
        while i >= 0 && back < 4 && bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        guard i >= 0 else { return bytes.count }
        let lead = bytes[i]
        let need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - i >= need ? bytes.count : i
    }
}
