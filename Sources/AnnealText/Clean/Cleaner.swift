import Foundation

/// Cleans one document at a time; pure and `Sendable`, so batches run in parallel.
/// Order: normalize → pii → length → Gopher repetition → Gopher quality → C4 (datatrove's
/// FineWeb order for the filters). The first failing filter names the removal.
public struct Cleaner: Sendable {
    public let config: CleanConfig
    let gopher: GopherRules

    public init(_ config: CleanConfig = CleanConfig()) {
        self.config = config
        gopher = GopherRules(config)
    }

    public enum Outcome: Sendable, Equatable {
        case kept(String)
        case removed(CleanRule)
    }

    public struct Result: Sendable {
        public var outcome: Outcome
        public var pii = PIICounts()
    }

    public func clean(_ input: String) -> Result {
        var text = input
        var pii = PIICounts()
        if config.isOn(.normalize) { text = Normalizer.normalize(text) }
        if config.isOn(.pii) { (text, pii) = PIIRedactor.redact(text) }
        if config.isOn(.length) {
            let count = text.unicodeScalars.count
            if count < config.minChars || count > config.maxChars { return Result(outcome: .removed(.length), pii: pii) }
        }
        let verdict: CleanRule? = text.withUTF8 { bytes in
            let scan = WordScan(bytes)
            return gopher.repetition(bytes, scan) ?? gopher.quality(bytes, scan)
        }
        if let verdict { return Result(outcome: .removed(verdict), pii: pii) }
        let c4 = C4Rules(config: config)
        guard c4.isActive else { return Result(outcome: .kept(text), pii: pii) }
        switch c4.apply(text) {
        case .kept(let kept): return Result(outcome: .kept(kept), pii: pii)
        case .removed(let rule): return Result(outcome: .removed(rule), pii: pii)
        }
    }
}

