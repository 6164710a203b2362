import AnnealCompute
import AnnealModels
import Foundation

/// A training stage's scratch checkpoint in the directory the runner keeps for one action
/// key across attempts (`ANNEAL_STATE_DIR`): weights, optimizer moments and step, the
/// dropout RNG, the data RNG (the data position) and the resolved configuration it belongs
/// to. It never reaches the stage's outputs; a rerun that finds it resumes bit for bit.
///
///     <state>/checkpoint/config.json, model.safetensors   Checkpoint.save
///     <state>/checkpoint/optimizer.safetensors              moments, step, dropout RNG
///     <state>/checkpoint/progress.json                      {config, data_rng, extra?}
///
/// A checkpoint is written beside the last one and renamed over it, so a kill at any moment
/// leaves one whole checkpoint (`checkpoint`, or `checkpoint.old` between the two renames).
public struct ResumeState {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public struct Progress: Codable, Equatable {
        /// The canonical JSON of everything the run's bytes depend on; a checkpoint written
        /// under another configuration is ignored.
        public var config: String
        public var dataRNG: RNG
        /// A loop's own state beside the optimizer's (PPO: iteration, adaptive β, skip count).
        public var extra: String?

        enum CodingKeys: String, CodingKey { case config, dataRNG = "data_rng", extra }
    }

    public struct Resumed {
        public var model: GPT
        public var step: Int
        public var rng: RNG
        public var dataRNG: RNG
        public var extra: String?
    }

    var current: URL { directory.appendingPathComponent("checkpoint") }
    var previous: URL { directory.appendingPathComponent("checkpoint.old") }
    var next: URL { directory.appendingPathComponent("checkpoint.next") }

    public func save(model: GPT, optimizer: TrainingOptimizer, rng: RNG, dataRNG: RNG, config: String, extra: String? = nil) throws {
        let fm = FileManager.default
        try? fm.removeItem(at: next)
        try Checkpoint.save(model, to: next)
        try optimizer.save(to: next, rng: rng)
        let progress = try JSONEncoder().encode(Progress(config: config, dataRNG: dataRNG, extra: extra))
        try progress.write(to: next.appendingPathComponent("progress.json"))
        try? fm.removeItem(at: previous)
        if fm.fileExists(atPath: current.path) { try fm.moveItem(at: current, to: previous) }
        try fm.moveItem(at: next, to: current)
        try? fm.removeItem(at: previous)
    }

    /// The last checkpoint written under `config`, or nil (none, or another configuration).
    /// `optimizer(model)` builds the optimizer for the loaded model; its state is restored.
    public func load(config: String, optimizer: (GPT) -> TrainingOptimizer) throws -> (Resumed, TrainingOptimizer)? {
        let fm = FileManager.default
        let dir = fm.fileExists(atPath: current.path) ? current : previous
        let progressURL = dir.appendingPathComponent("progress.json")
        guard fm.fileExists(atPath: progressURL.path) else { return nil }
        let progress = try JSONDecoder().decode(Progress.self, from: Data(contentsOf: progressURL))
        guard progress.config == config else { return nil }
        let model = try Checkpoint.load(from: dir)
        var opt = optimizer(model)
        let rng = try opt.load(from: dir)
        return (Resumed(model: model, step: opt.stepsTaken, rng: rng, dataRNG: progress.dataRNG, extra: progress.extra), opt)
    }
}
