import Foundation

/// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers:
/// as easy as 1, 2, 3", SC'11). The whole state is (seed, stream, counter): saving those
/// three integers resumes the exact sequence, and element i of a bulk fill depends only on
/// (seed, stream, counter + i/4), never on thread scheduling.
public struct RNG: Sendable, Codable, Equatable {
    public var seed: UInt64
    /// Independent sub-sequence (e.g. one for init, one for dropout, one for sampling).
    public var stream: UInt64
    /// Number of 128-bit blocks consumed so far.
    public var counter: UInt64

    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.counter = 0
    }

    /// Philox4x32-10 of counter block `c` under key `seed`.
    @inline(__always)
    static func block(seed: UInt64, stream: UInt64, counter c: UInt64) -> SIMD4<UInt32> {
        var x0 = UInt32(truncatingIfNeeded: c), x1 = UInt32(truncatingIfNeeded: c >> 32)
        var x2 = UInt32(truncatingIfNeeded: stream), x3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            let hi0 = UInt32(p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            x0 = hi1 ^ x1 ^ k0
            x1 = lo1
            x2 = hi0 ^ x3 ^ k1
            x3 = lo0
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return SIMD4(x0, x1, x2, x3)
    }

    /// The next 32 random bits (one whole block per call; bulk fills use all four lanes).
    public mutating func nextUInt32() -> UInt32 {
        let b = RNG.block(seed: seed, stream: stream, counter: counter)
        counter &+= 1
        return b[0]
    }

    /// Uniform in [0, 1) with 24 bits of resolution.
    public mutating func nextUniform() -> Float {
        Float(nextUInt32() >> 8) * 0x1p-24
    }

    /// Uniform integer in 0..<n (n > 0), unbiased by rejection.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below: \(n))")
        let bound = UInt64(n)
        let limit = (UInt64(1) << 32) - (UInt64(1) << 32) % bound
        while true {
            let x = UInt64(nextUInt32())
            if x < limit { return Int(x % bound) }
        }
    }

    /// Fills `out` with uniforms in [0, 1); consumes ceil(count / 4) blocks.
    public mutating func fillUniform(_ out: UnsafeMutablePointer<Float>, count: Int) {
        let start = counter, seed = self.seed, stream = self.stream
        let blocks = (count + 3) / 4
        parallelRanges(blocks, minChunk: 4096) { range in
            for b in range {
                let v = RNG.block(seed: seed, stream: stream, counter: start &+ UInt64(b))
                for lane in 0..<4 where b * 4 + lane < count {
                    out[b * 4 + lane] = Float(v[lane] >> 8) * 0x1p-24
                }
            }
        }
        counter &+= UInt64(blocks)
    }

    /// Fills `out` with N(mean, std²) by Box–Muller over pairs of lanes.
    public mutating func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int,
                                    mean: Float = 0, std: Float = 1) {
        let start = counter, seed = self.seed, stream = self.stream
        let blocks = (count + 3) / 4
        parallelRanges(blocks, minChunk: 4096) { range in
            for b in range {
                let v = RNG.block(seed: seed, stream: stream, counter: start &+ UInt64(b))
                for pair in 0..<2 {
                    // (u + 1) / 2^32 is in (0, 1], so log never sees zero.
                    let u1 = (Double(v[2 * pair]) + 1) * 0x1p-32
                    let u2 = Double(v[2 * pair + 1]) * 0x1p-32
                    let r = (-2 * log(u1)).squareRoot()
                    let a = 2 * Double.pi * u2
                    let i = b * 4 + 2 * pair
                    if i < count { out[i] = mean + std * Float(r * cos(a)) }
                    if i + 1 < count { out[i + 1] = mean + std * Float(r * sin(a)) }
                }
            }
        }
        counter &+= UInt64(blocks)
    }
}

