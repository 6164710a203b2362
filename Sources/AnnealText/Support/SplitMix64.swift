/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64).
///
/// Anneal's outputs must be identical for a given seed on every platform and Swift version,
/// so the module never uses `SystemRandomNumberGenerator` or the standard library's
/// `shuffled()`/`randomElement()` without an explicit generator: their algorithms are not
/// promised to stay the same. Every helper here is written out so the sequence is fixed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for an independent stream: `derive(7)` of seed s never overlaps the main
    /// stream in practice because the input goes through the finaliser first.
    public init(seed: UInt64, stream: UInt64) {
        state = SplitMix64.mix(seed &+ 0x9E37_79B9_7F4A_7C15 &* (stream &+ 1))
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser; also a good 64-bit integer hash.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` by Lemire's multiply-shift with rejection (no modulo bias).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "below(\(bound)): bound must be positive")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Uniform integer in a closed range.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// Uniform double in [0, 1) from the top 53 bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    public mutating func pick<T>(_ items: [T]) -> T {
        precondition(!items.isEmpty, "pick from an empty array")
        return items[below(items.count)]
    }

    /// Fisher–Yates, written out so the permutation for a seed never changes.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { items.swapAt(i, j) }
        }
    }

    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        var copy = items
        shuffle(&copy)
        return copy
    }

    /// `count` distinct indices from `0..<n`, in random order.
    public mutating func sample(_ count: Int, from n: Int) -> [Int] {
        precondition(count <= n, "sample(\(count), from: \(n))")
        var all = Array(0..<n)
        for i in 0..<count {
            let j = i + below(n - i)
            all.swapAt(i, j)
        }
        return Array(all[0..<count])
    }
}

extension String {
    /// True when every byte is ASCII; scans the contiguous UTF-8 storage directly.
    var isASCIIOnly: Bool {
        var copy = self
        return copy.withUTF8 { bytes in
            var any: UInt8 = 0
            for b in bytes { any |= b }
            return any < 0x80
        }
    }
}
