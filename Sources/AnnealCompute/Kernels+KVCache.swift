import Foundation

/// Keys and values of every layer for one sequence being decoded, so each new token costs
/// O(T) attention instead of re-running the whole prefix.
public struct KVCache {
    /// Per layer [capacity, C].
    public let keys: [Tensor]
    public let values: [Tensor]
    public let capacity: Int
    /// Positions filled so far.
    public var length: Int = 0

    public init(layers: Int, capacity: Int, width C: Int) {
        keys = (0..<layers).map { _ in Tensor(zeros: [capacity, C]) }
        values = (0..<layers).map { _ in Tensor(zeros: [capacity, C]) }
        self.capacity = capacity
    }
}

/// For n new rows of qkv [n, 3C] at positions length ..< length+n: stores their k and v in
/// the layer's cache and writes out [n, C] = causal attention of each new query over the
/// cache up to its own position. Parallel over heads (disjoint output columns).
func cachedAttentionForward(_ out: UnsafeMutablePointer<Float>, _ qkv: UnsafePointer<Float>,
                            keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>,
                            start: Int, n: Int, C: Int, NH: Int) {
    let hs = C / NH, C3 = 3 * C
    let scale = 1 / Float(hs).squareRoot()
    for i in 0..<n {
        (keys + (start + i) * C).update(from: qkv + i * C3 + C, count: C)
        (values + (start + i) * C).update(from: qkv + i * C3 + 2 * C, count: C)
    }
    parallelRanges(NH, minChunk: 1) { heads in
        var scores = [Float](repeating: 0, count: start + n)
        for h in heads {
            for i in 0..<n {
                let q = qkv + i * C3 + h * hs
                let last = start + i
                var m = -Float.infinity
                for j in 0...last {
                    let k = keys + j * C + h * hs
                    var s: Float = 0
                    for d in 0..<hs { s += q[d] * k[d] }
                    s *= scale
                    scores[j] = s
                    m = max(m, s)
                }
                var sum: Float = 0
                for j in 0...last { scores[j] = exp1(scores[j] - m); sum += scores[j] }
                let o = out + i * C + h * hs
                for d in 0..<hs { o[d] = 0 }
                for j in 0...last {
                    let p = scores[j] / sum, v = values + j * C + h * hs
                    for d in 0..<hs { o[d] += p * v[d] }
                }
            }
        }
    }
}

extension Tape {
    /// Inference-only causal attention of the new rows of `qkv` [n, 3C] over `cache`'s
    /// layer `layer`, appending their keys and values. Records no backward: decoding never
    /// trains. The caller advances `cache.length` once all layers have run.
    public func cachedSelfAttention(_ qkv: Var, cache: KVCache, layer: Int, heads NH: Int) -> Var {
        cachedSelfAttention(qkv, caches: [cache], layer: layer, heads: NH)
    }

    /// Batched form: qkv [caches.count · n, 3C], the n consecutive rows of block b belonging
    /// to `caches[b]` (each sequence at its own position, e.g. one new token per sequence).
    public func cachedSelfAttention(_ qkv: Var, caches: [KVCache], layer: Int, heads NH: Int) -> Var {
        let QKV = value(qkv)
        let C = QKV.lastDim / 3, rows = QKV.rows
        precondition(!caches.isEmpty && rows % caches.count == 0,
                     "\(rows) qkv rows do not split over \(caches.count) caches")
        let n = rows / caches.count
        let out = alloc([rows, C])
        for (b, cache) in caches.enumerated() {
            precondition(cache.length + n <= cache.capacity,
                         "KV cache full: \(cache.length) + \(n) positions exceed capacity \(cache.capacity)")
            cachedAttentionForward(out.pointer + b * n * C, QKV.pointer + b * n * 3 * C,
                                   keys: cache.keys[layer].pointer, values: cache.values[layer].pointer,
                                   start: cache.length, n: n, C: C, NH: NH)
        }
        return record(out, inputs: []) { _, _ in }
    }
}
