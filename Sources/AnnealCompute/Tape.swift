/// A value recorded on a `Tape`.
public struct Var: Hashable, Sendable {
    public let id: Int
}

/// Reverse-mode autodiff over coarse ops (linear, layernorm, attention, ...). Each op runs
/// its forward kernel at once and records a closure that runs the matching backward kernel.
/// Nodes whose inputs need no gradient record nothing, so frozen weights and reference
/// models cost only their forward pass.
///
/// One tape per training step: `reset()` between steps hands activation buffers back to a
/// pool, so steady-state steps allocate nothing (big mallocs would otherwise be mmap'd and
/// page-faulted afresh every step). A buffer the caller still holds (a returned `Tensor`)
/// is never recycled.
public final class Tape {
    struct Node {
        let value: Tensor
        var grad: Tensor?
        let requiresGrad: Bool
        let backward: ((Tape, Tensor) -> Void)?
    }

    private(set) var nodes: [Node] = []
    private var pool: [Int: [TensorStorage]] = [:]
    /// Every buffer `alloc` handed out and not yet recycled (values, grads, saved scratch).
    private var live: [ObjectIdentifier: TensorStorage] = [:]

    /// False for inference: parameters enter as constants, so no op records a backward
    /// and activations are not kept alive by closures.
    public let recordsGradients: Bool

    public init(recordsGradients: Bool = true) {
        self.recordsGradients = recordsGradients
    }

    public var nodeCount: Int { nodes.count }

    /// Set by `backward`, cleared by `reset`. A second backward over the same nodes would
    /// propagate the first loss again (its seed stays on the loss node), so gradient
    /// accumulation is one tape per micro-batch: `reset()` between backward passes.
    private var hasRunBackward = false

    public func value(_ v: Var) -> Tensor { nodes[v.id].value }

    /// The accumulated gradient (nil if none flowed here or it needs none).
    public func grad(_ v: Var) -> Tensor? { nodes[v.id].grad }

    public func requiresGrad(_ v: Var) -> Bool { nodes[v.id].requiresGrad }

    /// Parameter `i` of `params` as a leaf; its gradient accumulates straight into
    /// `params.grads` unless the entry is frozen.
    public func parameter(_ params: ParameterSet, _ i: Int) -> Var {
        let frozen = params.entries[i].isFrozen || !recordsGradients
        nodes.append(Node(value: params.value(i), grad: frozen ? nil : params.grad(i),
                          requiresGrad: !frozen, backward: nil))
        return Var(id: nodes.count - 1)
    }

    public func parameter(_ params: ParameterSet, _ name: String) -> Var {
        parameter(params, params.index(name))
    }

    /// A leaf with no gradient (inputs, targets, reference values).
    public func constant(_ t: Tensor) -> Var {
        nodes.append(Node(value: t, grad: nil, requiresGrad: false, backward: nil))
        return Var(id: nodes.count - 1)
    }

    /// A leaf whose gradient is kept in `grad(_:)` (used by gradient checks and by callers
    /// that differentiate with respect to an input).
    public func variable(_ t: Tensor) -> Var {
        nodes.append(Node(value: t, grad: nil, requiresGrad: true, backward: nil))
        return Var(id: nodes.count - 1)
    }

    /// A scratch or output buffer, from the pool when one of that size is free.
    func alloc(_ shape: [Int], zeroed: Bool = false) -> Tensor {
        let n = Tensor.elementCount(shape)
        if var free = pool[n], let s = free.popLast() {
            pool[n] = free
            live[ObjectIdentifier(s)] = s
            let t = Tensor(storage: s, offset: 0, shape: shape)
            if zeroed { t.zero() }
            return t
        }
        let t = Tensor(zeros: shape)
        live[ObjectIdentifier(t.storage)] = t.storage
        return t
    }

    /// Records an op's output; `backward(tape, dout)` must accumulate into its inputs'
    /// gradients through `gradPointer`, which is nil for inputs that need none.
    func record(_ value: Tensor, inputs: [Var],
                backward: @escaping (Tape, Tensor) -> Void) -> Var {
        let needs = inputs.contains { nodes[$0.id].requiresGrad }
        nodes.append(Node(value: value, grad: nil, requiresGrad: needs,
                          backward: needs ? backward : nil))
        return Var(id: nodes.count - 1)
    }

    /// Pointer to `v`'s gradient buffer, zero-allocated on first use; nil if `v` needs none.
    func gradPointer(_ v: Var) -> UnsafeMutablePointer<Float>? {
        guard nodes[v.id].requiresGrad else { return nil }
        if let g = nodes[v.id].grad { return g.pointer }
        let g = alloc(nodes[v.id].value.shape, zeroed: true)
        nodes[v.id].grad = g
        return g.pointer
    }

    /// A temporary buffer for the duration of `body` (e.g. attention's dS), returned to the
    /// pool right after, so the next op's scratch reuses it.
    func withScratch<R>(_ shape: [Int], _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        var storage = alloc(shape).storage
        let result = body(storage.base)
        release(&storage)
        return result
    }

    /// Hands `storage` back to the pool if nothing outside the tape holds it.
    private func release(_ storage: inout TensorStorage) {
        let key = ObjectIdentifier(storage)
        guard live.removeValue(forKey: key) != nil else { return }
        if isKnownUniquelyReferenced(&storage) {
            pool[storage.count, default: []].append(storage)
        } else {
            live[key] = storage  // someone kept it; `reset` will look again
        }
    }

    /// Back-propagates from `output`, seeding its gradient with `seed` (e.g. 1/accumulation
    /// steps). Parameter gradients accumulate into their `ParameterSet`; leaves made with
    /// `variable` keep theirs. An intermediate value's gradient is recycled as soon as its
    /// op has propagated it, which is what keeps the backward pass's memory at the size of
    /// a few activations instead of all of them.
    ///
    /// At most once per `reset()`: accumulate micro-batches as `reset(); forward; backward`
    /// each, never as several backward passes over one growing tape.
    public func backward(_ output: Var, seed: Float = 1) {
        precondition(!hasRunBackward, "Tape.backward called twice without reset(): "
            + "reset the tape before each micro-batch's forward pass")
        hasRunBackward = true
        guard let g = gradPointer(output) else { return }
        let n = nodes[output.id].value.count
        for i in 0..<n { g[i] += seed }
        for id in stride(from: output.id, through: 0, by: -1) {
            guard runBackward(id) else { continue }
            if id != output.id, var storage = nodes[id].grad?.storage {
                nodes[id].grad = nil
                release(&storage)
            }
        }
    }

    /// Runs node `id`'s backward if it has one and a gradient arrived. A function of its
    /// own so that its references to the gradient end before the caller recycles it.
    @inline(never)
    private func runBackward(_ id: Int) -> Bool {
        guard let back = nodes[id].backward, let dout = nodes[id].grad else { return false }
        back(self, dout)
        return true
    }

    /// Forgets every node and recycles the buffers nobody else holds.
    public func reset() {
        hasRunBackward = false
        nodes.removeAll(keepingCapacity: true)  // drops the closures and their saved tensors
        // A buffer a caller still holds is dropped from tracking, not pooled: it is freed
        // with the caller's last reference.
        while !live.isEmpty {
            var storage = live.remove(at: live.startIndex).value
            if isKnownUniquelyReferenced(&storage) { pool[storage.count, default: []].append(storage) }
        }
    }
}
