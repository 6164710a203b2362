@testable import AnnealStageKit
import Foundation
import Testing

/// A scratch directory with a parameters file, and the protocol's environment for it.
struct ProtocolFixture {
    let dir: String

    init(params: String) throws {
        dir = NSTemporaryDirectory() + "anneal-kit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try params.write(toFile: dir + "/params.json", atomically: true, encoding: .utf8)
        try "hello\n".write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
    }

    var environment: [String: String] {
        ["ANNEAL_INPUTS": "{\"text\": \"\(dir)/in.txt\"}", "ANNEAL_OUTPUTS": "{\"loud\": \"\(dir)/out\"}",
         "ANNEAL_PARAMS": dir + "/params.json", "ANNEAL_SEED": "-3", "ANNEAL_THREADS": "2", "ANNEAL_STAGE": "shout",
         "ANNEAL_STATE_DIR": dir + "/state"]
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

struct Shout: Stage {
    struct Config: Decodable {
        var times: Int
        var upperCase: Bool
        var suffix: String?
    }

    static func run(_ context: StageContext, config: Config) throws {
        var text = try String(contentsOfFile: try context.input("text"), encoding: .utf8)
        if config.upperCase { text = text.uppercased() }
        let out = String(repeating: text, count: config.times) + (config.suffix ?? "")
        try out.write(toFile: try context.output("loud") + "/text.txt", atomically: true, encoding: .utf8)
    }
}

@Suite struct StageContextTests {
    @Test func readsTheProtocolFromTheEnvironment() throws {
        let f = try ProtocolFixture(params: #"{"times": 2}"#)
        defer { f.remove() }
        let c = try StageContext.fromEnvironment(f.environment)
        #expect(c.stage == "shout")
        #expect(c.inputs == ["text": f.dir + "/in.txt"])
        #expect(try c.output("loud") == f.dir + "/out")
        #expect(c.seed == -3 && c.threads == 2)
        #expect(c.stateDirectory == f.dir + "/state")
        #expect(c.parametersJSON == Data(#"{"times": 2}"#.utf8))
    }

    @Test func aMissingVariableIsNamed() throws {
        let f = try ProtocolFixture(params: "{}")
        defer { f.remove() }
        var env = f.environment
        env["ANNEAL_OUTPUTS"] = nil
        #expect(throws: StageFailure("ANNEAL_OUTPUTS is missing or not a JSON object of paths; stages run under `anneal run`, which sets it")) {
            try StageContext.fromEnvironment(env)
        }
        env = f.environment
        env["ANNEAL_THREADS"] = "two"
        #expect(throws: StageFailure("ANNEAL_THREADS is 'two', not an integer")) { try StageContext.fromEnvironment(env) }
    }

    @Test func anUnknownInputNamesTheKnownOnes() throws {
        let c = StageContext(stage: "s", inputs: ["model": "/m", "shards": "/s"], outputs: [:], parametersJSON: Data("{}".utf8),
                             seed: 0, threads: 1)
        #expect(throws: StageFailure("stage 's' has no input 'tokens' (it has model, shards); connect it in the pipeline or declare it in the manifest")) {
            try c.input("tokens")
        }
    }

    @Test func configMapsSnakeCaseParametersToProperties() throws {
        let c = context(#"{"times": 3, "upper_case": true, "unused": [1, 2]}"#)
        let config = try c.config(Shout.Config.self)
        #expect(config.times == 3 && config.upperCase && config.suffix == nil)
    }

    @Test func configErrorsNameTheManifestParameter() {
        #expect(throws: StageFailure("stage 'shout': parameter 'upper_case' is missing from ANNEAL_PARAMS; declare it in the manifest's params with a default, or make the property optional")) {
            try context(#"{"times": 3}"#).config(Shout.Config.self)
        }
        #expect(throws: StageFailure("stage 'shout': parameter 'times' must be an integer; make the manifest's type and the property's agree")) {
            try context(#"{"times": "two", "upper_case": true}"#).config(Shout.Config.self)
        }
        #expect(throws: StageFailure("stage 'shout': ANNEAL_PARAMS does not fit the stage's Config: a number does not fit its property (a fraction or out of range for an integer?); make the manifest's types and the properties' agree")) {
            try context(#"{"times": 2.5, "upper_case": true}"#).config(Shout.Config.self)
        }
        #expect(throws: StageFailure("stage 'shout': ANNEAL_PARAMS is not a JSON object")) {
            try context("not json").config(Shout.Config.self)
        }
    }

    @Test func reportWritesOneJSONLinePerCall() throws {
        let path = NSTemporaryDirectory() + "anneal-kit-progress-" + UUID().uuidString
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        defer { unlink(path) }
        let c = StageContext(stage: "s", inputs: [:], outputs: [:], parametersJSON: Data("{}".utf8), seed: 0, threads: 1, progressFD: fd)
        c.report(step: 3, total: 10, metrics: ["loss": 2.5, "tokens": 4096, "lr": 1e-5, "bad": .nan], message: "a \"quoted\"\nline")
        c.report(metrics: ["suggested_lr": 0.003])
        close(fd)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == """
            {"metrics":{"bad":null,"loss":2.5,"lr":1e-05,"tokens":4096},"message":"a \\"quoted\\"\\nline","step":3,"total":10}
            {"metrics":{"suggested_lr":0.003}}

            """)
    }

    @Test func mainRunsTheStageAndReportsFailures() throws {
        let f = try ProtocolFixture(params: #"{"times": 2, "upper_case": true, "suffix": "!"}"#)
        defer { f.remove() }
        var budgets: [Int] = []
        #expect(StageMain.run(Shout.self, environment: f.environment, threadBudget: { budgets.append($0) }) == 0)
        #expect(try String(contentsOfFile: f.dir + "/out/text.txt", encoding: .utf8) == "HELLO\nHELLO\n!")
        #expect(budgets == [2])
        var env = f.environment
        env["ANNEAL_INPUTS"] = "{}"
        #expect(StageMain.run(Shout.self, environment: env, threadBudget: { budgets.append($0) }) == 1)
    }

    func context(_ json: String) -> StageContext {
        StageContext(stage: "shout", inputs: [:], outputs: [:], parametersJSON: Data(json.utf8), seed: 0, threads: 1)
    }
}
