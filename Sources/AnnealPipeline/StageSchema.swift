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
    public var outputs: [String]
    public var params: [ParamSpec]
    /// Cores the stage keeps busy; the scheduler never runs more than `--jobs` at once.
    public var threads: Int
    /// The metrics the finished-stage line shows, in order (`loss`, `tokens_per_s`); when
    /// empty, those of the stage's last progress report.
    public var headline: [String] = []

    public init(name: String, version: String, summary: String = "", inputs: [String], optionalInputs: [String] = [],
                outputs: [String], params: [ParamSpec], threads: Int = 1, headline: [String] = []) {
        self.name = name
        self.version = version
        self.summary = summary
        self.inputs = inputs
        self.optionalInputs = optionalInputs
        self.outputs = outputs
        self.params = params
        self.threads = threads
        self.headline = headline
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
    public var summary: String
    /// Bounds of an int or float parameter, checked when the pipeline is validated so the
    /// stage never computes with a number it cannot hold.
    public var range: ClosedRange<Double>?

    public init(_ name: String, _ kind: Kind, default defaultValue: Value? = nil, required: Bool = false,
                allowed: [String]? = nil, fields: [ParamSpec]? = nil, summary: String = "", range: ClosedRange<Double>? = nil) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isRequired = required
        self.allowed = allowed
        self.fields = fields
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
}
