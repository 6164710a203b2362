@testable import AnnealPipeline
import Testing

@Suite struct ResourcesTests {
    let head = "name: r\nstages:\n"

    @Test func resourcesAndExecutorAreRead() throws {
        let spec = try load("name: r\nexecutor: slurm\nstages:\n"
                            + "  a: {run: x, outputs: [o], threads: 3, resources: {mem: 4G, time: '1:30:00', partition: debug, gres: 'gpu:a100:2'}}\n"
                            + "  b: {run: x, outputs: [o], resources: {cpus: 8, time: 90}}\n")
        #expect(spec.executor == "slurm")
        #expect(spec.stage(named: "a")?.resources == StageResources(mem: "4G", time: "1:30:00", partition: "debug", gres: "gpu:a100:2"))
        #expect(spec.stage(named: "b")?.resources == StageResources(cpus: 8, time: "90"))
        #expect(try load(head + "  a: {run: x, outputs: [o]}\n").executor == nil)
    }

    @Test func badResourcesAreAllReportedWithTheirPlace() {
        #expect(errors(head + "  a:\n    run: x\n    outputs: [o]\n    resources: {cpus: 0, mem: lots, time: '1:2:3:4', partition: 'a b', gpus: 1}\n") == [
            "p.yaml:6:23: error: 'cpus' must be an integer in 1...4096, found 0",
            "p.yaml:6:31: error: 'mem' must be a memory size such as 4000 (megabytes), 512M or 16G, found 'lots'",
            "p.yaml:6:44: error: 'time' must be a Slurm time limit (minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S) above zero, found '1:2:3:4'",
            "p.yaml:6:66: error: 'partition' must be a non-empty name of letters, digits and _.-, found 'a b'",
            "p.yaml:6:72: error: unknown resource 'gpus' in stage 'a'; did you mean 'cpus'?",
        ])
        #expect(errors("name: r\nexecutor: slrum\nstages:\n  a: {run: x, outputs: [o]}\n") == [
            "p.yaml:2:11: error: 'executor' must be one of local, slurm, found 'slrum'; did you mean 'slurm'?",
        ])
        #expect(errors(head + "  a: {run: x, outputs: [o], resources: 4}\n") == [
            "p.yaml:3:40: error: 'resources' of stage 'a' must be a mapping with keys cpus, mem, time, partition, gres, found a scalar",
        ])
    }

    @Test func slurmTimeForms() {
        #expect(StageResources.seconds(ofTime: "5") == 300)
        #expect(StageResources.seconds(ofTime: "0:05") == 5)
        #expect(StageResources.seconds(ofTime: "1:00:05") == 3605)
        #expect(StageResources.seconds(ofTime: "2-1") == 2 * 86400 + 3600)
        #expect(StageResources.seconds(ofTime: "2-1:30") == 2 * 86400 + 3600 + 1800)
        #expect(StageResources.seconds(ofTime: "1-0:0:7") == 86407)
        for bad in ["", "-", "1-", "a", "1:", "1::2", "1-2-3", "1:2:3:4", "+5", "1.5"] { #expect(StageResources.seconds(ofTime: bad) == nil, "\(bad)") }
        #expect(StageResources.isMemory("4000") && StageResources.isMemory("16G") && StageResources.isMemory("512m"))
        #expect(!StageResources.isMemory("0") && !StageResources.isMemory("G") && !StageResources.isMemory("4GB") && !StageResources.isMemory("-1"))
    }
}
