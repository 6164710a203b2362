/// Owns one zero-initialised, 64-byte aligned float32 allocation.
///
/// A class only so that the allocation is freed exactly once; every access goes through
/// `Tensor`, which is a view (storage, offset, shape) into it.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "negative storage size \(count)")
        // 64-byte alignment keeps AVX-512 loads in OpenBLAS and our SIMD loops on one line.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        base = raw.assumingMemoryBound(to: Float.self)
        self.count = count
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A contiguous, row-major float32 tensor: a shape over a range of a `TensorStorage`.
///
/// `Tensor` is a *view*, like a pointer in llm.c: copying the struct aliases the same
/// numbers (that is how one parameter allocation is carved into per-layer tensors). Use
/// `copy()` for an independent tensor. Hot loops take `pointer` into a `let` first.
public struct Tensor: @unchecked Sendable {
    public let storage: TensorStorage
    public let offset: Int
    public let shape: [Int]
    public let count: Int

    /// A new zero-filled tensor.
    public init(zeros shape: [Int]) {
        let n = Tensor.elementCount(shape)
        self.storage = TensorStorage(count: n)
        self.offset = 0
        self.shape = shape
        self.count = n
    }

    /// A new tensor holding `values` (row-major).
    public init(shape: [Int], values: [Float]) {
        let n = Tensor.elementCount(shape)
        precondition(values.count == n, "shape \(shape) needs \(n) values, got \(values.count)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { src in
            storage.base.update(from: src.baseAddress!, count: n)
        }
    }

    /// A view of `shape` into `storage` starting at `offset`.
    public init(storage: TensorStorage, offset: Int, shape: [Int]) {
        let n = Tensor.elementCount(shape)
        precondition(offset >= 0 && offset + n <= storage.count,
                     "view [\(offset), \(offset + n)) outside storage of \(storage.count)")
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.count = n
    }

    @inline(__always)
    public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    public var rank: Int { shape.count }

    /// Size of the last dimension (the "row" length most kernels work on).
    public var lastDim: Int { shape.last ?? 1 }

    /// Number of rows when viewed as [count / lastDim, lastDim].
    public var rows: Int { lastDim == 0 ? 0 : count / lastDim }

    /// The same numbers under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == count,
                     "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    public var array: [Float] { Array(buffer) }

    public subscript(_ i: Int) -> Float {
        get { precondition(i >= 0 && i < count); return pointer[i] }
        nonmutating set { precondition(i >= 0 && i < count); pointer[i] = newValue }
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    public func zero() { fill(0) }

    /// Copies `other`'s numbers into this tensor (element counts must match).
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    static func elementCount(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape {
            precondition(d >= 0, "negative dimension in shape \(shape)")
            n *= d
        }
        return n
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = array.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
