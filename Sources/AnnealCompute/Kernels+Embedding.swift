/// out[n, :] = table[indices[n], :]   table [V, C], out [N, C]
func embeddingForward(_ out: UnsafeMutablePointer<Float>, _ table: UnsafePointer<Float>,
                      _ indices: UnsafePointer<Int32>, N: Int, V: Int, C: Int) {
    for n in 0..<N {
        let i = Int(indices[n])
        precondition(i >= 0 && i < V, "index \(i) at position \(n) outside table of \(V) rows")
        (out + n * C).update(from: table + i * C, count: C)
    }
}

/// dtable[indices[n], :] += dout[n, :]. Split by column so repeated indices are summed by
/// one thread in position order (deterministic).
func embeddingBackward(_ dtable: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                       _ indices: UnsafePointer<Int32>, N: Int, C: Int) {
    parallelRanges(C, minChunk: 64) { cols in
        for n in 0..<N {
            let dst = dtable + Int(indices[n]) * C, src = dout + n * C
            for j in cols { dst[j] += src[j] }
        }
    }
}
