import Foundation

/// Stage process groups that outlive a killed `anneal run`.
///
/// Each local stage runs in its own process group, so a terminal's Ctrl-C reaches only the
/// runner, which then stops its stages. A runner killed with SIGKILL cannot: its stages run on
/// unwatched, burning cores and — worse — writing into the resume state that the next attempt
/// at the same action key reads. So the runner records every group it starts next to the
/// stage's scratch (`tmp/PID-STAGE-N.group`), and the next writer of the cache, finding that
/// runner dead, ends the group before it starts anything.
enum LeftoverGroups {
    static let suffix = ".group"
    /// Grace between SIGTERM and SIGKILL for a stage's processes.
    static let terminationGrace = 2.0

    /// Records the group led by `pid` (a stage of `stage`) for the scratch directory `scratch`.
    static func record(pid: pid_t, stage: String, scratch: String) {
        let text = "\(pid) \(startTime(of: pid) ?? 0) \(stage)\n"
        let path = scratch + suffix
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }  // best effort: without it, only this safety net is lost
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func forget(scratch: String) { unlink(scratch + suffix) }

    /// Ends the group a record names if any of it is still alive; returns a note for the user,
    /// or nil when there was nothing to end. The record comes from the cache, so it is not
    /// trusted: it must be ours, name a real group (never 0, 1 or our own), and a leader still
    /// alive must be the process recorded (same start time), not a later one that reused its pid.
    /// A leader that died while others of its group live on cannot have had its pid reused: the
    /// kernel does not hand out a pid that is still a process group's id.
    static func end(record path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_size < 4096,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ", maxSplits: 2)
        guard fields.count == 3, let group = pid_t(fields[0]), group > 1, group != getpgrp(), group != getpid(),
              let started = UInt64(fields[1]) else { return nil }
        let stage = fields[2].trimmingCharacters(in: .newlines)
        if let now = startTime(of: group), now != started { return nil }
        guard isAlive(group) else { return nil }
        kill(-group, SIGTERM)
        kill(-group, SIGCONT)  // a stopped member acts on SIGTERM only once it runs
        var how = "SIGTERM"
        if !waitForEnd(of: group, seconds: terminationGrace) {
            kill(-group, SIGKILL)
            how = "SIGKILL"
            _ = waitForEnd(of: group, seconds: 10)
        }
        return "ended the processes of stage '\(stage)' (process group \(group), \(how)) that a killed anneal run left running"
    }

    static func isAlive(_ group: pid_t) -> Bool {
        guard kill(-group, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
        return liveMembers(ofGroup: group)
        #else
        return true
        #endif
    }

    /// Whether `/proc` lists a process of group `group` that is not a zombie.
    static func liveMembers(ofGroup group: pid_t) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for name in names where name.first?.isNumber == true {
            // "PID (COMM) STATE PPID PGRP …"; COMM may hold spaces and parentheses.
            guard let text = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            if fields.count > 2, fields[2] == "\(group)", fields[0] != "Z" { return true }
        }
        return false
    }

    private static func waitForEnd(of group: pid_t, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isAlive(group) {
            guard Date() < deadline else { return false }
            usleep(20_000)
        }
        return true
    }

    /// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or nil
    /// when it does not exist (or on systems without /proc, where 0 is recorded and any live
    /// leader is taken to be the recorded one).
    static func startTime(of pid: pid_t) -> UInt64? {
        #if os(Linux)
        // "PID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS MINFLT CMINFLT MAJFLT CMAJFLT UTIME
        // STIME CUTIME CSTIME PRIORITY NICE THREADS ITREALVALUE STARTTIME …"; COMM may hold
        // spaces and parentheses, so fields are counted from the last ')'.
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
        #else
        return kill(pid, 0) == 0 || errno == EPERM ? 0 : nil
        #endif
    }
}
