@testable import AnnealEngine
import Foundation
import Testing

/// Which records of a killed runner's stage groups are acted on. A group whose leader is gone
/// is ended only where a member's environment names the stage's scratch directory: its number
/// may belong to an unrelated group by now.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/stat"), "needs /proc"))
struct LeftoverGroupsTests {
    /// A `sleep 60` in a new session, with `scratch` in its environment: led by itself
    /// (`leaderStays`), or the one process left of a group whose leader exited. Started by a
    /// Python script that closes inherited descriptors, so nothing here waits on the sleep.
    /// Returns the sleep's pid and its group.
    func sleeper(leaderStays: Bool, scratchInEnvironment scratch: String?, dir: String) throws -> (pid: pid_t, group: pid_t) {
        let script = """
            import os, sys, time
            pid = os.fork()
            if pid == 0:
                os.setsid()
                os.closerange(3, 4096)
                if sys.argv[2] == "stay":
                    os.execvp("sleep", ["sleep", "60"])
                child = os.fork()
                if child == 0:
                    os.execvp("sleep", ["sleep", "60"])
                open(sys.argv[1], "w").write(str(child))
                os._exit(0)
            if sys.argv[2] == "stay":
                open(sys.argv[1], "w").write(str(pid))
            os.waitpid(pid, 0) if sys.argv[2] != "stay" else None
            """
        let file = dir + "/pid-" + UUID().uuidString
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, file, leaderStays ? "stay" : "go"]
        var env = ["PATH": "/usr/bin:/bin:/usr/local/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "")]
        if let scratch { env["ANNEAL_OUTPUT_O"] = scratch + "/out/o" }
        p.environment = env
        try p.run()
        p.waitUntilExit()
        var text = ""
        for _ in 0..<200 {
            text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            if !text.isEmpty { break }
            usleep(10_000)
        }
        let pid = try #require(pid_t(text))
        for _ in 0..<200 where (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix("sleep") != true { usleep(10_000) }
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        return (pid, try #require(pid_t(fields[2])))
    }

    func record(_ dir: String, group: pid_t, started: UInt64 = 12345, boot: String = LeftoverGroups.bootID) throws -> String {
        let path = dir + "/999999-stage-1.group"
        try "\(group) \(started) \(boot) stage\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aGroupWithoutItsLeaderIsEndedOnlyWhereItsMembersNameTheScratch() throws {
        let dir = NSTemporaryDirectory() + "anneal-leftover-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scratch = dir + "/999999-stage-1"

        let stranger = try sleeper(leaderStays: false, scratchInEnvironment: nil, dir: dir)
        defer { kill(stranger.pid, SIGKILL) }
        #expect(LeftoverGroups.end(record: try record(dir, group: stranger.group)) == nil)
        #expect(kill(stranger.pid, 0) == 0 && !LeftoverGroups.isZombie(stranger.pid), "an unrelated group was signalled")

        let stage = try sleeper(leaderStays: false, scratchInEnvironment: scratch, dir: dir)
        defer { kill(stage.pid, SIGKILL) }
        // Another boot's record names processes that no longer exist.
        #expect(LeftoverGroups.end(record: try record(dir, group: stage.group, boot: "another-boot")) == nil)
        #expect(!LeftoverGroups.isZombie(stage.pid) && kill(stage.pid, 0) == 0)
        let note = LeftoverGroups.end(record: try record(dir, group: stage.group))
        #expect(note?.contains("ended the processes of stage 'stage'") == true)
        #expect(kill(stage.pid, 0) != 0 || LeftoverGroups.isZombie(stage.pid))
    }

    @Test func aLiveLeaderMustBeTheRecordedProcess() throws {
        let dir = NSTemporaryDirectory() + "anneal-leftover-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sleep = try sleeper(leaderStays: true, scratchInEnvironment: nil, dir: dir)
        defer { kill(sleep.pid, SIGKILL) }
        let leader = sleep.group
        #expect(leader == sleep.pid)
        let started = try #require(LeftoverGroups.startTime(of: leader))
        #expect(LeftoverGroups.end(record: try record(dir, group: leader, started: started + 1)) == nil)
        #expect(kill(leader, 0) == 0)
        #expect(LeftoverGroups.end(record: try record(dir, group: leader, started: started)) != nil)
    }

    /// A run's journal: a group recorded and then marked over is left alone, one not over is
    /// ended, and a scratch path is matched as a directory (`…-a-1` is not `…-a-12`).
    @Test func aJournalEndsOnlyTheGroupsNotOver() throws {
        let dir = NSTemporaryDirectory() + "anneal-leftover-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let running = try sleeper(leaderStays: false, scratchInEnvironment: dir + "/999999-a-1", dir: dir)
        defer { kill(running.pid, SIGKILL) }
        let over = try sleeper(leaderStays: false, scratchInEnvironment: dir + "/999999-b-2", dir: dir)
        defer { kill(over.pid, SIGKILL) }
        let longer = try sleeper(leaderStays: false, scratchInEnvironment: dir + "/999999-c-12", dir: dir)
        defer { kill(longer.pid, SIGKILL) }
        let boot = LeftoverGroups.bootID
        let journal = dir + "/999999-run" + LeftoverGroups.journalSuffix
        try """
            \(running.group) 12345 \(boot) 999999-a-1 a
            \(over.group) 12345 \(boot) 999999-b-2 b
            \(longer.group) 12345 \(boot) 999999-c-1 c
            not a record
            over 999999-b-2

            """.write(toFile: journal, atomically: true, encoding: .utf8)
        let notes = LeftoverGroups.end(journal: journal)
        #expect(notes.count == 1)
        #expect(notes.first?.contains("stage 'a'") == true)
        #expect(kill(running.pid, 0) != 0 || LeftoverGroups.isZombie(running.pid))
        #expect(kill(over.pid, 0) == 0 && !LeftoverGroups.isZombie(over.pid), "a group marked over was signalled")
        #expect(kill(longer.pid, 0) == 0 && !LeftoverGroups.isZombie(longer.pid), "another scratch's group was signalled")
    }

    /// Regression: a record's scratch was matched as a plain substring of a process's
    /// environment, so the record of `…-stage-1` signalled a process of `…-stage-12`.
    @Test func aRecordNeverMatchesAScratchWhoseNameItPrefixes() throws {
        let dir = NSTemporaryDirectory() + "anneal-leftover-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let other = try sleeper(leaderStays: false, scratchInEnvironment: dir + "/999999-stage-12", dir: dir)
        defer { kill(other.pid, SIGKILL) }
        #expect(LeftoverGroups.end(record: try record(dir, group: other.group)) == nil)
        #expect(kill(other.pid, 0) == 0 && !LeftoverGroups.isZombie(other.pid), "a process of another scratch was signalled")
    }
}
