import AnnealCompute
import AnnealModels
@testable import AnnealTrain
import Foundation
import Testing

/// Data parallelism without MPI: the ranks' shares of a batch, and that their weighted
/// gradients, summed as MPI_Allreduce sums them, are the whole batch's gradient.
@Suite struct DataParallelTests {
    @Test func rowsAreContiguousBalancedAndCoverTheBatch() {
        for (batch, tasks) in [(8, 2), (5, 2), (7, 3), (4, 4), (9, 1)] {
            let shares = (0..<tasks).map { DataParallel.rows(batch: batch, rank: $0, tasks: tasks) }
            #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == batch)
            for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            let sizes = shares.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1 && sizes.min()! >= 1, "\(batch) over \(tasks): \(sizes)")
        }
        #expect(DataParallel(rank: 0, tasks: 3, mpi: nil).problem(batch: 2, name: "batch_size")
                == "batch_size 2 cannot be split over 3 tasks; use tasks ≤ batch_size or a larger batch_size")
        #expect(DataParallel(rank: 0, tasks: 2, mpi: nil).problem(batch: 2, name: "batch_size") == nil)
    }

    /// One rank's rows and weight, then its gradients of `weight × its mean loss`.
    static func gradients(_ model: GPT, _ batch: Batch, T: Int, dp: DataParallel) -> (grads: [Float], loss: Double) {
        let (part, weight) = dp.share(of: batch, block: T)
        model.params.zeroGrads()
        let tape = Tape()
        var rng = RNG(seed: 1)
        let l = model.languageModelLoss(tape, tokens: part.inputs, targets: part.targets, batch: part.rows, training: true, rng: &rng)
        tape.backward(l, seed: weight)
        let g = model.params.grads
        return (Array(UnsafeBufferPointer(start: g.pointer, count: g.count)), Double(tape.value(l)[0]) * Double(weight))
    }

    @Test(arguments: [2, 3]) func summedShareGradientsAreTheWholeBatchGradient(tasks: Int) throws {
        let T = 6
        let model = try GPT(config: GPTConfig(vocabSize: 19, contextLength: T, width: 8, layers: 1, heads: 2))
        var rng = RNG(seed: 4)
        model.initializeWeights(rng: &rng)
        var data = RNG(seed: 9)
        let tokens = (0..<120).map { _ in Int32(data.nextInt(below: 19)) }
        let batch = Batching.sample(tokens, batch: 5, block: T, rng: &data)  // 5 rows: shares of unequal size

        let whole = Self.gradients(model, batch, T: T, dp: .single)
        var summed = [Float](repeating: 0, count: whole.grads.count)
        var loss = 0.0
        for rank in 0..<tasks {
            let part = Self.gradients(model, batch, T: T, dp: DataParallel(rank: rank, tasks: tasks, mpi: nil))
            for i in summed.indices { summed[i] += part.grads[i] }
            loss += part.loss
        }
        let scale = whole.grads.map(abs).max()!
        let worst = zip(summed, whole.grads).map { abs($0 - $1) }.max()!
        #expect(scale > 1e-3, "the gradient is not trivially zero")
        #expect(worst <= 1e-5 * scale, "largest difference \(worst) against largest gradient \(scale)")
        #expect(abs(loss - whole.loss) < 1e-5)
    }

    @Test func validationBatchesArePartedWithoutGapsEvenWhenFewerThanTasks() {
        for (count, tasks) in [(20, 2), (5, 3), (1, 2), (0, 2)] {
            let parts = (0..<tasks).map { DataParallel(rank: $0, tasks: tasks, mpi: nil).part(of: count) }
            #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == count)
            for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        }
    }

    @Test func oneTaskIsTheBatchUnchanged() throws {
        var data = RNG(seed: 2)
        let batch = Batching.sample((0..<50).map { Int32($0) }, batch: 3, block: 4, rng: &data)
        let (part, weight) = DataParallel.single.share(of: batch, block: 4)
        #expect(part == batch && weight == 1)
        #expect(try DataParallel.single.sum(2.5) == 2.5)
    }

    @Test func missingOpenMPISaysWhatToInstall() {
        do {
            _ = try OpenMPI(candidates: ["/nonexistent/libmpi.so"])
            Issue.record("a library that does not exist loaded")
        } catch {
            #expect("\(error)".contains("Open MPI was not found (tried /nonexistent/libmpi.so)"))
            #expect("\(error)".contains("apt-get install openmpi-bin libopenmpi-dev"))
        }
        #expect(OpenMPI.candidates(["ANNEAL_MPI_LIB": "/x/libmpi.so"]).first == "/x/libmpi.so")
    }

    /// A libmpi that exists but does not load is named with the loader's reason, not reported as
    /// "not found" alone.
    @Test func aLibraryThatDoesNotLoadIsNamedWithTheReason() throws {
        let path = NSTemporaryDirectory() + "anneal-broken-libmpi-\(UUID().uuidString).so"
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try OpenMPI(candidates: [path])
            Issue.record("a broken library loaded")
        } catch let missing as OpenMPI.Missing {
            #expect(missing.description.contains("\(path) did not load: "), "\(missing)")
            #expect(missing.description.contains("apt-get install openmpi-bin libopenmpi-dev"))
        }
    }
}
