/// What a stage kind declares about itself: its inputs, outputs and parameters. The loader
/// validates a pipeline's `with:` blocks against it and fills in defaults, so a stage never
/// sees a parameter it did not declare.
public struct StageSchema: Sendable {
    public var name: String
    /// Bumped by the stage's author when its behaviour changes; part of every action key.
    public var version: String
    public var summary: String
    public var inputs: [String]
    public var optionalInputs: [String]
    /// Inputs a pipeline lists as a map of names of its own choosing (`models: {sft: sft.model,
    /// ppo: ppo.model}`); each entry becomes the input `GROUP.NAME` (`models.sft`). A declared
    /// group needs at least one entry.
    public var inputGroups: [String]
    public var outputs: [String]
    public var params: [ParamSpec]
    /// Cores the stage keeps busy; the scheduler never runs more than `--jobs` at once.
    public var threads: Int
    /// The metrics the finished-stage line shows, in order (`loss`, `tokens_per_s`); when
    /// empty, those of the stage's last progress report.
    public var headline: [String] = []
    /// Problems between parameters (width divisible by heads, a context longer than the
    /// upstream model's) that `anneal validate` reports with the parameter's location.
    public var validate: (@Sendable (ParamContext) -> [ParamProblem])?
    /// `OUTPUT/PATH` of a file that sums the stage's result up for a person (eval's
    /// `report/summary.md`); `anneal run` prints it at the end when the stage ran or was cached.
    public var summaryFile: String?
    /// Whether the stage can run as several tasks (`tasks: N`, data-parallel training over
    /// MPI). A stage without it runs as one process: N copies would each write its outputs.
    public var dataParallel = false

    public init(name: String, version: String, summary: String = "", inputs: [String], optionalInputs: [String] = [],
                inputGroups: [String] = [], outputs: [String], params: [ParamSpec], threads: Int = 1, headline: [String] = [],
                validate: (@Sendable (ParamContext) -> [ParamProblem])? = nil, summaryFile: String? = nil,
                dataParallel: Bool = false) {
        self.name = name
        self.version = version
        self.summary = summary
        self.inputs = inputs
        self.optionalInputs = optionalInputs
        self.inputGroups = inputGroups
        self.outputs = outputs
        self.params = params
        self.threads = threads
        self.headline = headline
        self.validate = validate
        self.summaryFile = summaryFile
        self.dataParallel = dataParallel
    }
}

/// What a schema's validate hook sees: the stage's resolved parameters and, for each input
/// fed by another stage with a schema, that stage's resolved parameters.
public struct ParamContext: Sendable {
    public var params: Value
    /// Input name → the upstream stage's resolved parameters.
    public var upstream: [String: Value]

    public init(params: Value, upstream: [String: Value] = [:]) {
        self.params = params
        self.upstream = upstream
    }
}

/// A problem with a parameter's value; the loader places it at the parameter in `with:`
/// (or at `with:` / the stage when the value is a default).
public struct ParamProblem: Sendable, Equatable, CustomStringConvertible {
    /// Dotted name under `with` (`n_embd`, `model.width`).
    public var param: String
    public var message: String
    public var hint: String?

    public init(_ param: String, _ message: String, hint: String? = nil) {
        self.param = param
        self.message = message
        self.hint = hint
    }

    public var description: String { message }
}

/// Numeric limits of a parameter: `lr > 0`, `dropout` in [0, 1).
public struct ParamBounds: Sendable, Equatable, CustomStringConvertible {
    public var lower: Double?
    public var lowerInclusive = true
    public var upper: Double?
    public var upperInclusive = true

    public init(lower: Double? = nil, lowerInclusive: Bool = true, upper: Double? = nil, upperInclusive: Bool = true) {
        self.lower = lower
        self.lowerInclusive = lowerInclusive
        self.upper = upper
        self.upperInclusive = upperInclusive
    }

    public static func atLeast(_ x: Double) -> ParamBounds { ParamBounds(lower: x) }
    public static func greaterThan(_ x: Double) -> ParamBounds { ParamBounds(lower: x, lowerInclusive: false) }
    /// [lo, hi) — a probability that must stay below 1, such as dropout.
    public static func from(_ lo: Double, below hi: Double) -> ParamBounds { ParamBounds(lower: lo, upper: hi, upperInclusive: false) }
    public static func from(_ lo: Double, through hi: Double) -> ParamBounds { ParamBounds(lower: lo, upper: hi) }

    public func contains(_ v: Double) -> Bool {
        if let lower, lowerInclusive ? v < lower : v <= lower { return false }
        if let upper, upperInclusive ? v > upper : v >= upper { return false }
        return v.isFinite
    }

    /// `> 0`, `≥ 1`, `in [0, 1)`.
    public var description: String {
        func n(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
        switch (lower, upper) {
        case (let lo?, let hi?): return "in \(lowerInclusive ? "[" : "(")\(n(lo)), \(n(hi))\(upperInclusive ? "]" : ")")"
        case (let lo?, nil): return "\(lowerInclusive ? "≥" : ">") \(n(lo))"
        case (nil, let hi?): return "\(upperInclusive ? "≤" : "<") \(n(hi))"
        default: return "finite"
        }
    }
}

/// One declared parameter. Maps may declare their own fields (`model: {layers, heads}`).
public struct ParamSpec: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case int, float, string, bool, list, map, any
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: Value?
    public var isRequired: Bool
    public var allowed: [String]?
    public var fields: [ParamSpec]?
    /// For int and float parameters; checked at load time.
    public var bounds: ParamBounds?
    public var summary: String
    /// Bounds of an int or float parameter, checked when the pipeline is validated so the
    /// stage never computes with a number it cannot hold.
    public var range: ClosedRange<Double>?

    /// `allowed` applies to a string, or to every item of a list.
    public init(_ name: String, _ kind: Kind, default defaultValue: Value? = nil, required: Bool = false,
                allowed: [String]? = nil, fields: [ParamSpec]? = nil, bounds: ParamBounds? = nil, summary: String = "",
                range: ClosedRange<Double>? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isRequired = required
        self.allowed = allowed
        self.fields = fields
        self.bounds = bounds
        self.summary = summary
        self.range = range
    }

    /// `range` as the user writes it: `1...1024` for an int, `0.0...0.9` for a float.
    var rangeDescription: String? {
        guard let r = range else { return nil }
        func show(_ d: Double) -> String { kind == .int && abs(d) < 1e18 ? String(Int(d)) : Value.format(d) }
        return "\(show(r.lowerBound))...\(show(r.upperBound))"
    }

    /// Whether `value` has this parameter's type. Ints are accepted where floats are declared
    /// (`lr: 1` means 1.0), not the other way round.
    public func accepts(_ value: Value) -> Bool {
        switch (kind, value) {
        case (.any, _), (.int, .int), (.float, .double), (.float, .int), (.string, .string),
             (.bool, .bool), (.list, .list), (.map, .map): true
        default: false
        }
    }
}

/// Where the loader finds stage kinds by the name a pipeline `uses:`.
public protocol StageCatalog: Sendable {
    func schema(named name: String) -> StageSchema?
    var stageNames: [String] { get }
    /// Why a kind that exists could not be loaded (an invalid plugin manifest), if it could not.
    func problems(for name: String) -> [Diagnostic]
}

extension StageCatalog {
    public func problems(for name: String) -> [Diagnostic] { [] }

    /// The kinds that can run as several tasks, for the hint of a misplaced `tasks:`.
    var dataParallelKinds: [String] { stageNames.sorted().filter { schema(named: $0)?.dataParallel == true } }
}
