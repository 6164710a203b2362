import Foundation

/// Every error AnnealText throws. A struct with a public code wrapping an internal list of
/// cases, so callers can switch on `code` and new codes never break them; `description`
/// is the message a user acts on, prefixed `file:line:` when a line is to blame.
public struct TextError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let io = Code(name: "io")
        public static let emptyInput = Code(name: "emptyInput")
        public static let invalidUTF8 = Code(name: "invalidUTF8")
        public static let badLine = Code(name: "badLine")
        public static let badFormat = Code(name: "badFormat")
        public static let badConfig = Code(name: "badConfig")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// The file (path) and 1-based line the error is about, when there is one.
    public let file: String?
    public let line: Int?

    public init(_ code: Code, _ message: String, file: String? = nil, line: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String {
        switch (file, line) {
        case let (file?, line?): return "\(file):\(line): error: \(message)"
        case let (file?, nil): return "\(file): error: \(message)"
        default: return "error: \(message)"
        }
    }
}

extension TextError: LocalizedError {
    public var errorDescription: String? { description }
}
