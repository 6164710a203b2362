/// All trainable numbers of a model in one allocation, carved into named views (llm.c's
/// habit). Gradients share the layout in a second allocation, so zeroing them is one
/// memset, the optimizer one loop over entries, and a checkpoint one write per tensor.
/// Gradients accumulate across backward passes until `zeroGrads()` (gradient accumulation).
public final class ParameterSet {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public let count: Int
        /// Weight decay applies (matrices and embeddings, not norms or biases).
        public let decays: Bool
        /// Frozen entries get no gradient work and no optimizer update.
        public var isFrozen: Bool
    }

    public private(set) var entries: [Entry]
    private let indexByName: [String: Int]
    public let values: Tensor
    public let grads: Tensor

    /// `specs` in storage order: (name, shape, decays).
    public init(_ specs: [(name: String, shape: [Int], decays: Bool)]) {
        var entries: [Entry] = []
        var index: [String: Int] = [:]
        var offset = 0
        for s in specs {
            precondition(index[s.name] == nil, "duplicate parameter name '\(s.name)'")
            let n = Tensor.elementCount(s.shape)
            index[s.name] = entries.count
            entries.append(Entry(name: s.name, shape: s.shape, offset: offset, count: n,
                                 decays: s.decays, isFrozen: false))
            offset += n
        }
        self.entries = entries
        self.indexByName = index
        self.values = Tensor(zeros: [offset])
        self.grads = Tensor(zeros: [offset])
    }

    public var count: Int { values.count }
    public var trainableCount: Int { entries.reduce(0) { $0 + ($1.isFrozen ? 0 : $1.count) } }
    public var names: [String] { entries.map(\.name) }

    public func index(of name: String) -> Int? { indexByName[name] }

    public func index(_ name: String) -> Int {
        guard let i = indexByName[name] else { preconditionFailure("no parameter named '\(name)'") }
        return i
    }

    public func value(_ i: Int) -> Tensor {
        let e = entries[i]
        return Tensor(storage: values.storage, offset: e.offset, shape: e.shape)
    }

    public func grad(_ i: Int) -> Tensor {
        let e = entries[i]
        return Tensor(storage: grads.storage, offset: e.offset, shape: e.shape)
    }

    public subscript(_ name: String) -> Tensor { value(index(name)) }

    public func setFrozen(_ frozen: Bool, where matches: (String) -> Bool = { _ in true }) {
        for i in entries.indices where matches(entries[i].name) { entries[i].isFrozen = frozen }
    }

    public func zeroGrads() { grads.zero() }
}
