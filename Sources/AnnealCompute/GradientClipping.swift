/// Scales trainable gradients so their global L2 norm is at most `maxNorm` (torch's
/// `clip_grad_norm_`: coefficient maxNorm / (norm + 1e-6), only when below 1). The norm spans
/// every set given (e.g. LoRA adapters and a scalar head). Returns the norm before clipping;
/// the sum runs over entries in storage order, per entry in Float, across entries in Double.
@discardableResult
public func clipGradientNorm(_ sets: [ParameterSet], maxNorm: Float) -> Float {
    var sumSq: Double = 0
    for params in sets {
        let g = params.grads.pointer
        for e in params.entries where !e.isFrozen {
            var part: Float = 0
            for i in e.offset..<(e.offset + e.count) { part += g[i] * g[i] }
            sumSq += Double(part)
        }
    }
    let norm = Float(sumSq.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for params in sets {
            let g = params.grads.pointer
            for e in params.entries where !e.isFrozen {
                for i in e.offset..<(e.offset + e.count) { g[i] *= coef }
            }
        }
    }
    return norm
}

@discardableResult
public func clipGradientNorm(_ params: ParameterSet, maxNorm: Float) -> Float {
    clipGradientNorm([params], maxNorm: maxNorm)
}
