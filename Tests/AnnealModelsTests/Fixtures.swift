import AnnealCompute
import AnnealModels
import Foundation

/// Tests/Fixtures, found from this source file so tests run from any working directory.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

/// max_i |a_i − b_i| / max_i |b_i|: the error relative to the tensor's own scale (an
/// elementwise ratio would explode on entries that are ~0 in both).
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "comparing \(a.shape) with \(b.shape)")
    var diff: Float = 0, scale: Float = 0
    for i in 0..<a.count {
        diff = max(diff, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return diff / max(scale, 1e-30)
}

func int32s(_ t: Tensor) -> [Int32] { t.array.map { Int32($0) } }

func relative(_ a: Float, _ b: Float) -> Float { abs(a - b) / max(abs(b), 1e-30) }
