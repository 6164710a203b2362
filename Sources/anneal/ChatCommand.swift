import AnnealCompute
import AnnealModels
import AnnealPipeline
import AnnealText
import ArgumentParser
import Foundation

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model through the chat template.",
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
        var session = Session(gpt: gpt, tokenizer: tokenizer, options: options, rng: RNG(seed: sampling.seed), json: json)
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
            let ids = gpt.generate(prompt: prompt.map { Int32($0) }, options: options, rng: &rng) { _, _ in true }
            history.record(user: user, answer: ids.map { UInt32($0) })
            let answer = tokenizer.decode(ids.filter { !options.stopTokens.contains($0) }.map { UInt32($0) })
            if json {
                let v: Value = .map([
                    "turn": .int(turn), "prompt_tokens": .int(prompt.count), "dropped_messages": .int(dropped),
                    "ids": .list(ids.map { .int(Int($0)) }), "text": .string(answer),
                    "stop": .string(stopReason(ids, options: options)),
                ])
                FileHandle.standardOutput.write(Data((v.canonicalJSON + "\n").utf8))
            } else {
                FileHandle.standardOutput.write(Data((answer + "\n").utf8))
            }
            return true
        }
    }
}
