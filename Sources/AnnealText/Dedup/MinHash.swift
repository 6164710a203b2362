/// MinHash signatures with seeded permutations.
///
/// Each permutation hashes a shingle's 32-bit fold x as ⌊(a·x + b mod 2⁶⁴) / 2³²⌋ with random
/// 64-bit a (odd) and b: Dietzfelbinger's multiply-add-shift, strongly universal from 32 to
/// 32 bits. With a 32-bit x the 64-bit multiply needs two SIMD 32 × 32 products instead of
/// three, and the minimum is taken over 32-bit values. (A 32-bit a was faster still but
/// doubled false candidates on the benchmark corpus.) The shingle hashes are
/// well mixed (SplitMix64 finaliser) before folding; `DedupTests.minHashEstimatesJaccard`
/// checks the estimates against exact Jaccard. Same seed, same permutations everywhere.
public struct MinHasher: Sendable {
    public let permutations: Int
    let a: [UInt64]
    let b: [UInt64]

    public init(permutations: Int, seed: UInt64) {
        precondition(permutations > 0, "MinHasher needs at least one permutation")
        self.permutations = permutations
        var rng = SplitMix64(seed: seed, stream: 0x4D48)
        a = (0..<permutations).map { _ in rng.next() | 1 }
        b = (0..<permutations).map { _ in rng.next() }
    }

    /// Writes the signature of `shingles` into `out` (count == permutations). An empty set
    /// gets all-ones.
    func signature(_ shingles: [UInt64], into out: UnsafeMutableBufferPointer<UInt32>) {
        let p = permutations
        for i in 0..<p { out[i] = .max }
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for h in shingles {
                    let x = (h ^ (h >> 32)) & 0xFFFF_FFFF
                    for i in 0..<p {
                        let v = UInt32(truncatingIfNeeded: (a[i] &* x &+ b[i]) >> 32)
                        out[i] = Swift.min(out[i], v)
                    }
                }
            }
        }
    }

    public func signature(_ shingles: [UInt64]) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: permutations)
        out.withUnsafeMutableBufferPointer { signature(shingles, into: $0) }
        return out
    }

    /// Estimated Jaccard: the share of equal signature positions.
    public static func similarity(_ x: [UInt32], _ y: [UInt32]) -> Double {
        precondition(x.count == y.count, "signatures of different lengths")
        var equal = 0
        for i in 0..<x.count where x[i] == y[i] { equal += 1 }
        return Double(equal) / Double(x.count)
    }
}

/// Banding for LSH: `bands` × `rows` ≤ permutations. A pair with Jaccard s becomes a
/// candidate with probability 1 − (1 − sʳ)ᵇ.
public struct LSHParameters: Codable, Sendable, Equatable {
    public var bands: Int
    public var rows: Int

    public init(bands: Int, rows: Int) {
        self.bands = bands
        self.rows = rows
    }

    public func candidateProbability(_ s: Double) -> Double {
        1 - pow1(1 - pow1(s, rows), bands)
    }

    /// Chooses bands and rows for `threshold` by minimising the weighted areas of false
    /// positives (pairs below the threshold that become candidates) and false negatives
    /// (pairs above it that do not), as datasketch does. Anneal weights false negatives 0.8
    /// by default rather than 0.5: candidates are verified against their signatures, so a
    /// false positive costs a comparison, while a missed duplicate stays in the corpus.
    /// For threshold 0.7 and 128 permutations this gives 18 × 7 (P(0.8) = 0.99).
    public static func optimal(threshold: Double, permutations: Int, falseNegativeWeight: Double = 0.8) -> LSHParameters {
        precondition((0.0...1.0).contains(threshold) && permutations > 0, "bad LSH request")
        var best = LSHParameters(bands: 1, rows: permutations)
        var bestError = Double.infinity
        for bands in 1...permutations {
            for rows in 1...(permutations / bands) {
                let p = LSHParameters(bands: bands, rows: rows)
                let fp = integrate(0, threshold) { p.candidateProbability($0) }
                let fn = integrate(threshold, 1) { 1 - p.candidateProbability($0) }
                let error = (1 - falseNegativeWeight) * fp + falseNegativeWeight * fn
                if error < bestError - 1e-12 { bestError = error; best = p }
            }
        }
        return best
    }

    /// Midpoint rule; 100 steps is far finer than the differences between choices.
    private static func integrate(_ lo: Double, _ hi: Double, _ f: (Double) -> Double) -> Double {
        let steps = 100
        let h = (hi - lo) / Double(steps)
        var sum = 0.0
        for i in 0..<steps { sum += f(lo + (Double(i) + 0.5) * h) }
        return sum * h
    }
}

/// x^n for small integer n without Foundation's pow.
@inline(__always)
func pow1(_ x: Double, _ n: Int) -> Double {
    var result = 1.0
    for _ in 0..<n { result *= x }
    return result
}
