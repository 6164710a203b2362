import Foundation

extension StageContext {
    /// The parameters decoded into `type`. A manifest parameter `learning_rate` fills the
    /// property `learningRate` (snake_case keys become camelCase; don't add snake_case
    /// `CodingKeys`). Parameters the type does not declare are ignored; a property the
    /// parameters lack, or of another type, throws naming the parameter, since the manifest
    /// and the code disagree:
    ///
    ///     stage 'find': parameter 'max_lr' is missing from ANNEAL_PARAMS; declare it in the
    ///     manifest's params with a default, or make the property optional
    public func config<C: Decodable>(_ type: C.Type) throws(StageFailure) -> C {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(C.self, from: parametersJSON)
        } catch let e as DecodingError {
            throw StageFailure("stage '\(stage)': \(Self.explain(e, parameters: parametersJSON))")
        } catch {
            throw StageFailure("stage '\(stage)': cannot decode ANNEAL_PARAMS: \(error)")
        }
    }

    static func explain(_ e: DecodingError, parameters: Data = Data()) -> String {
        func name(_ path: [any CodingKey]) -> String { path.map { snakeCase($0.stringValue) }.joined(separator: ".") }
        switch e {
        case .keyNotFound(let key, let ctx):
            return "parameter '\(name(ctx.codingPath + [key]))' is missing from ANNEAL_PARAMS; declare it in the manifest's params with a default, or make the property optional"
        case .typeMismatch(let type, let ctx), .valueNotFound(let type, let ctx):
            return "parameter '\(name(ctx.codingPath))' must be \(typeName(type)); make the manifest's type and the property's agree"
        case .dataCorrupted(let ctx) where !ctx.codingPath.isEmpty:
            return "parameter '\(name(ctx.codingPath))': \(ctx.debugDescription)"
        case .dataCorrupted:
            // Foundation also says "not valid JSON" for a number that does not fit its
            // property (2.5 into an Int), without a path.
            guard (try? JSONSerialization.jsonObject(with: parameters)) is [String: Any] else { return "ANNEAL_PARAMS is not a JSON object" }
            return "ANNEAL_PARAMS does not fit the stage's Config: a number does not fit its property (a fraction or out of range for an integer?); make the manifest's types and the properties' agree"
        @unknown default:
            return "\(e)"
        }
    }

    /// `learningRate` → `learning_rate`: coding paths hold the property names, the user knows
    /// the manifest's.
    static func snakeCase(_ s: String) -> String {
        var out = ""
        for c in s {
            if c.isUppercase, !out.isEmpty { out += "_" }
            out += c.lowercased()
        }
        return out
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "of type \(t)"
        }
    }
}
