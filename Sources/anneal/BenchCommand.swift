import AnnealModels
import ArgumentParser
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure the compute core.", subcommands: [BenchTrain.self])
}

/// `anneal bench train --config C1|C2`: training throughput of the GPT on this machine,
/// against the sgemm peak the same process measures first (the denominator of MFU).
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT of a benchmark configuration on random tokens; report tokens/s, GFLOP/s and MFU.",
        discussion: """
            C1 = vocab 4096, context 128, width 256, 4 layers, 4 heads, batch 16.
            C2 = vocab 8192, context 256, width 512, 8 layers, 8 heads, batch 8.
            Model FLOPs per token = 6·(non-embedding parameters + vocab·width) + 12·layers·context·width.
            """)

    @Option(help: "C1 or C2.")
    var config: String
    @Option(help: "Timed optimizer steps (after 2 warm-up steps).")
    var steps = 10
    @Option(help: "Threads for OpenBLAS and Anneal's kernels (default: all cores).")
    var threads: Int?
    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    func validate() throws {
        guard BenchConfig.named(config) != nil else { throw ValidationError("--config must be C1 or C2, not '\(config)'") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let c = BenchConfig.named(config)!
        let r = runTrainBench(config: c, steps: steps, threads: threads)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            FileHandle.standardOutput.write(try encoder.encode(r) + Data("\n".utf8))
            return
        }
        print(String(format: "%@: %.0f tokens/s (best step %.0f), %.1f GFLOP/s of %.1f peak: MFU %.2f; peak RSS %.0f MiB; %d threads, OpenBLAS %@; final loss %.4f",
                     r.config, r.tokensPerS, r.bestTokensPerS, r.gflops, r.peakGflops, r.mfu,
                     Double(r.peakRssBytes) / 1_048_576, r.threads, r.blasCore, Double(r.finalLoss)))
    }
}
