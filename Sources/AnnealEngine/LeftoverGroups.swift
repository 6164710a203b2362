import Foundation

/// Stage process groups that outlive a killed `anneal run`.
///
/// Each local stage runs in its own process group, so a terminal's Ctrl-C reaches only the
/// runner, which then stops its stages. A runner killed with SIGKILL cannot: its stages run on
/// unwatched, burning cores and — worse — writing into the resume state that the next attempt
/// at the same action key reads. So the runner records every group it starts, and every one
/// that is over, in a journal beside the stages' scratch (`tmp/PID-run.groups`), and the next
/// writer of the cache, finding that runner dead, ends the groups not over before it starts
/// anything.
///
/// Ending the wrong processes is worse than leaving some running, so a record is acted on only
/// where it can be verified (Linux's /proc): same boot; a live leader must be the recorded
/// process (same start time) and then its whole group goes; with the leader gone, only members
/// whose environment names the stage's scratch directory are ended, one by one — a group id
/// outlives its leader, and after the group ends, a later unrelated group may get the number.
enum LeftoverGroups {
    /// A record file of an older anneal: one stage, `tmp/PID-STAGE-N.group`.
    static let suffix = ".group"
    /// A run's journal of the groups it started, `tmp/PID-run.groups`: one line per stage
    /// started (`PID START BOOT SCRATCH STAGE`) and one per stage over (`over SCRATCH`), appended
    /// to one file instead of creating and deleting a file per stage.
    static let journalSuffix = ".groups"
    /// Grace between SIGTERM and SIGKILL for a stage's processes.
    static let terminationGrace = 2.0

    /// The journal of this process's runs in the scratch directory `tmpDir`.
    static func journal(in tmpDir: String) -> String { "\(tmpDir)/\(getpid())-run\(journalSuffix)" }

    /// Records the group led by `pid` (a stage of `stage`) for the scratch directory `scratch`.
    static func record(pid: pid_t, stage: String, scratch: String) {
        let (dir, name) = split(scratch)
        append("\(pid) \(startTime(of: pid) ?? 0) \(bootID) \(name) \(stage)\n", to: journal(in: dir))
    }

    /// The stage of `scratch` is over, its whole group ended: nothing to act on any more.
    static func forget(scratch: String) {
        let (dir, name) = split(scratch)
        append("over \(name)\n", to: journal(in: dir))
    }

    private static func split(_ scratch: String) -> (directory: String, name: String) {
        guard let slash = scratch.lastIndex(of: "/") else { return (".", scratch) }
        return (String(scratch[..<slash]), String(scratch[scratch.index(after: slash)...]))
    }

    /// Best effort: without the record, only this safety net is lost. One `write` of a short
    /// line with `O_APPEND`, so the lines of parallel stages never interleave.
    private static func append(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Ends what is left of the groups a dead run's journal names as started and not over;
    /// returns a note for each group ended. Lines that do not parse are skipped.
    static func end(journal path: String) -> [String] {
        #if os(Linux)
        guard let text = ownedFile(path, atMost: 64 << 20) else { return [] }
        let dir = split(path).directory
        var started: [(scratch: Substring, record: String)] = []
        var over = Set<Substring>()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 4)
            if fields.count == 2, fields[0] == "over" {
                over.insert(fields[1])
            } else if fields.count == 5, !fields[3].contains("/"), !fields[3].hasPrefix(".") {
                started.append((fields[3], "\(fields[0]) \(fields[1]) \(fields[2]) \(fields[4])"))
            }
        }
        return started.filter { !over.contains($0.scratch) }.compactMap { end(text: $0.record, scratch: "\(dir)/\($0.scratch)") }
        #else
        return []
        #endif
    }

    /// Ends what is left of the group a record file names; returns a note for the user, or nil
    /// when there was nothing (verifiably) to end.
    static func end(record path: String) -> String? {
        #if os(Linux)
        guard let text = ownedFile(path, atMost: 4096) else { return nil }
        return end(text: text, scratch: String(path.dropLast(suffix.count)))
        #else
        return nil  // nothing to verify a record against
        #endif
    }

    /// The text of a regular file of ours no larger than `limit`: records come from the cache,
    /// so they are not trusted.
    private static func ownedFile(_ path: String, atMost limit: Int) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_size < limit else { return nil }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// Acts on one record, "PID START BOOT STAGE", of the stage whose scratch was `scratch`.
    /// It must be ours and name a real group (never 0, 1 or our own).
    private static func end(text: String, scratch: String) -> String? {
        #if os(Linux)
        let fields = text.split(separator: " ", maxSplits: 3)
        guard fields.count == 4, let group = pid_t(fields[0]), group > 1, group != getpgrp(), group != getpid(),
              let started = UInt64(fields[1]), started > 0, fields[2] == bootID, !bootID.isEmpty else { return nil }
        let stage = fields[3].trimmingCharacters(in: .newlines)
        let targets: Targets
        if let now = startTime(of: group) {
            guard now == started else { return nil }  // the pid is another process's now
            targets = .group(group)
        } else {
            // The scratch path as a directory: `tmp/1-s-12` must not match `tmp/1-s-123/o`.
            let named = Array((scratch + "/").utf8)
            let verified = members(ofGroup: group).filter { environment(of: $0).contains(named) }
            guard !verified.isEmpty else { return nil }
            targets = .processes(verified)
        }
        guard targets.anyAlive else { return nil }
        targets.send(SIGTERM)
        targets.send(SIGCONT)  // a stopped member acts on SIGTERM only once it runs
        var how = "SIGTERM"
        if !targets.waitForEnd(seconds: terminationGrace) {
            targets.send(SIGKILL)
            how = "SIGKILL"
            _ = targets.waitForEnd(seconds: 10)
        }
        return "ended the processes of stage '\(stage)' (process group \(group), \(how)) that a killed anneal run left running"
        #else
        return nil
        #endif
    }

    private enum Targets {
        case group(pid_t)
        case processes([pid_t])

        var anyAlive: Bool {
            switch self {
            case .group(let g): LeftoverGroups.isAlive(g)
            case .processes(let pids): pids.contains { LeftoverGroups.startTime(of: $0) != nil && !LeftoverGroups.isZombie($0) }
            }
        }

        func send(_ signal: Int32) {
            switch self {
            case .group(let g): kill(-g, signal)
            case .processes(let pids): pids.forEach { kill($0, signal) }
            }
        }

        func waitForEnd(seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while anyAlive {
                guard Date() < deadline else { return false }
                usleep(20_000)
            }
            return true
        }
    }

    /// True while a process of the group is alive: a running stage's group (`StageProcess`)
    /// or a dead run's. Zombies do not count (`members(ofGroup:)`). A group we may not signal
    /// (EPERM) is asked of /proc too: if all it holds are zombies, it is done.
    static func isAlive(_ group: pid_t) -> Bool {
        guard kill(-group, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
        return !members(ofGroup: group).isEmpty
        #else
        return true
        #endif
    }

    /// The processes of group `group` that `/proc` lists and that are not zombies. Zombies do
    /// not count: they are done, and in a container whose init never reaps, orphans stay
    /// zombies forever.
    static func members(ofGroup group: pid_t) -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out: [pid_t] = []
        for name in names where name.first?.isNumber == true {
            guard let fields = statFields(name), fields.count > 2, fields[2] == "\(group)", fields[0] != "Z",
                  let pid = pid_t(name) else { continue }
            out.append(pid)
        }
        return out
    }

    static func isZombie(_ pid: pid_t) -> Bool { statFields("\(pid)")?.first == "Z" }

    /// /proc/PID/stat's fields after the command name: "STATE PPID PGRP SESSION TTY TPGID FLAGS
    /// MINFLT CMINFLT MAJFLT CMAJFLT UTIME STIME CUTIME CSTIME PRIORITY NICE THREADS ITREALVALUE
    /// STARTTIME …"; the name may hold spaces and parentheses, so fields count from the last ')'.
    private static func statFields(_ pid: String) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// The process's start time in clock ticks since boot, or nil when it does not exist (or
    /// on systems without /proc, where 0 is recorded and records are never acted on).
    static func startTime(of pid: pid_t) -> UInt64? {
        #if os(Linux)
        guard let fields = statFields("\(pid)"), fields.count > 19 else { return nil }
        return UInt64(fields[19])
        #else
        return kill(pid, 0) == 0 || errno == EPERM ? 0 : nil
        #endif
    }

    /// This boot's id: start times count from boot, so a record from before a reboot (a power
    /// cut killed the runner) names processes that no longer exist, whatever now has their pids.
    static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines).filter { !$0.isWhitespace } ?? ""
    }()

    /// The process's environment as NUL-separated bytes (empty when unreadable).
    private static func environment(of pid: pid_t) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
        return [UInt8](data)
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    fileprivate func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { i in self[i..<(i + needle.count)].elementsEqual(needle) }
    }
}
