import AnnealPipeline
import Foundation
import Testing

/// The lockfile's compute fingerprint records OpenBLAS's thread count, which sets its
/// reduction order, beside Anneal's own kernel threads.
@Suite struct FingerprintTests {
    @Test func lockfileRecordsBLASThreads() throws {
        let s = Sandbox()
        defer { s.remove() }
        s.write("p.yaml", "name: f\nstages:\n  a:\n    run: echo hi > ${outputs.o}/t\n    outputs: [o]\n")
        for n in [1, 2] {
            let r = s.anneal(["run", "p.yaml"], environment: ["OPENBLAS_NUM_THREADS": String(n)])
            #expect(r.code == 0, "\(r.stderr)")
            let lock = try #require(s.read("p.lock"))
            let compute = try #require(lock.split(separator: "\n").first { $0.hasPrefix("compute: ") })
            let value = try #require(Value.parseJSON(String(compute.dropFirst("compute: ".count))))
            #expect(value["blas_threads"] == .int(n), "\(compute)")
            #expect(value["threads"]?.intValue != nil)
        }
    }
}
