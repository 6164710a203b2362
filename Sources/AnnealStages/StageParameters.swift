import AnnealPipeline
import Foundation

/// A stage's hyperparameters, declared once. The struct's initial property values are the
/// defaults; `parameters` names each one (snake_case, as pipelines write it), binds it to
/// its property and gives its bounds and help. The stage's `StageSchema` params come from
/// this table, and decoding `ANNEAL_PARAMS` goes through it too, so a parameter cannot be
/// declared in one place and read under another name — and a key that is missing or has
/// the wrong type throws, naming the key, instead of reading as 0.
///
///     struct Parameters: StageParameters {
///         var learningRate = 2e-3
///         static var parameters: [Param<Self>] {
///             [Param("learning_rate", \.learningRate, bounds: .greaterThan(0), summary: "peak rate")]
///         }
///     }
public protocol StageParameters: Decodable {
    /// The defaults.
    init()
    static var parameters: [Param<Self>] { get }
    /// Problems a single parameter's bounds cannot express (width divisible by heads),
    /// found by `anneal validate`; `context` gives the upstream stages' parameters too.
    static func problems(_ params: Self, context: ParamContext) -> [ParamProblem]
}

extension StageParameters {
    public static func problems(_ params: Self, context: ParamContext) -> [ParamProblem] { [] }

    /// The schema entries, with the defaults read from `init()`.
    public static var specs: [ParamSpec] {
        let defaults = Self()
        return parameters.map { $0.spec(defaults) }
    }

    /// The values of `self` by parameter name, as `ANNEAL_PARAMS` holds them.
    public var parameterValues: Value {
        .map(Dictionary(uniqueKeysWithValues: Self.parameters.map { ($0.name, $0.spec(self).defaultValue ?? .null) }))
    }

    /// The schema's validate hook: decodes the resolved params (already type-checked by the
    /// loader) and asks `problems`.
    public static var validator: @Sendable (ParamContext) -> [ParamProblem] {
        { context in
            guard let p = try? Self.decode(context.params, stage: "") else { return [] }
            return problems(p, context: context)
        }
    }

    /// Strict decoding of a stage's resolved parameters (the loader has filled every default,
    /// so a missing key means the schema and this type disagree).
    public static func decode(_ params: Value, stage: String) throws -> Self {
        do {
            return try JSONDecoder().decode(Self.self, from: Data(params.canonicalJSON.utf8))
        } catch let e as DecodingError {
            throw StageFailure("stage '\(stage)': \(Self.explain(e))")
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: ParamKey.self)
        let names = Set(Self.parameters.map(\.name))
        if let unknown = c.allKeys.map(\.stringValue).sorted().first(where: { !names.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: [ParamKey(unknown)],
                                                    debugDescription: "unknown parameter '\(unknown)'"))
        }
        for p in Self.parameters { try p.decode(c, &self) }
    }

    static func explain(_ e: DecodingError) -> String {
        func name(_ path: [any CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .keyNotFound(let key, let ctx):
            return "parameter '\(name(ctx.codingPath + [key]))' is missing from ANNEAL_PARAMS"
        case .typeMismatch(let type, let ctx), .valueNotFound(let type, let ctx):
            return "parameter '\(name(ctx.codingPath))' must be \(typeName(type))"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "ANNEAL_PARAMS is not a JSON object" : ctx.debugDescription
        @unknown default:
            return "\(e)"
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is Int.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "a list of strings"
        }
    }
}

struct ParamKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// One row of a stage's parameter table: a name bound to a property of `Config`.
public struct Param<Config> {
    public let name: String
    let spec: (Config) -> ParamSpec
    let decode: (KeyedDecodingContainer<ParamKey>, inout Config) throws -> Void

    public init<T: ParamValue>(_ name: String, _ path: WritableKeyPath<Config, T>, bounds: ParamBounds? = nil,
                               allowed: [String]? = nil, summary: String = "") {
        self.name = name
        spec = { defaults in
            ParamSpec(name, T.kind, default: defaults[keyPath: path].value, allowed: allowed, bounds: bounds, summary: summary)
        }
        decode = { c, config in config[keyPath: path] = try c.decode(T.self, forKey: ParamKey(name)) }
    }

    /// This row for a config that holds `Config` at `path` (shared groups such as the
    /// document format parameters).
    public func lifted<Outer>(_ path: WritableKeyPath<Outer, Config>) -> Param<Outer> {
        let spec = self.spec, decode = self.decode
        return Param<Outer>(name: name, spec: { spec($0[keyPath: path]) },
                            decode: { c, outer in try decode(c, &outer[keyPath: path]) })
    }

    init(name: String, spec: @escaping (Config) -> ParamSpec,
         decode: @escaping (KeyedDecodingContainer<ParamKey>, inout Config) throws -> Void) {
        self.name = name
        self.spec = spec
        self.decode = decode
    }
}

/// The Swift types a parameter may have, and their pipeline kinds.
public protocol ParamValue: Decodable {
    static var kind: ParamSpec.Kind { get }
    var value: Value { get }
}

extension Int: ParamValue {
    public static var kind: ParamSpec.Kind { .int }
    public var value: Value { .int(self) }
}

extension Double: ParamValue {
    public static var kind: ParamSpec.Kind { .float }
    public var value: Value { .double(self) }
}

extension Float: ParamValue {
    public static var kind: ParamSpec.Kind { .float }
    // Through the shortest decimal, so 0.1 stays 0.1 in schemas and lockfiles.
    public var value: Value { .double(Double("\(self)") ?? Double(self)) }
}

extension String: ParamValue {
    public static var kind: ParamSpec.Kind { .string }
    public var value: Value { .string(self) }
}

extension Bool: ParamValue {
    public static var kind: ParamSpec.Kind { .bool }
    public var value: Value { .bool(self) }
}

extension Array: ParamValue where Element == String {
    public static var kind: ParamSpec.Kind { .list }
    public var value: Value { .list(map(Value.string)) }
}
