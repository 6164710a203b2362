import Foundation

/// Ending a stage's process group once its leader has exited.
extension StageProcess {
    /// Grace between SIGTERM and SIGKILL for what a stage left running.
    static let terminationGrace = LeftoverGroups.terminationGrace

    /// Terminates whatever the stage left in its process group: SIGTERM, then SIGKILL after
    /// `terminationGrace` seconds. `whileWaiting` runs between checks (it reads progress, so a
    /// member blocked on a full pipe can still finish and exit). Returns once no member is alive.
    func endGroup(whileWaiting: () -> Void) {
        guard LeftoverGroups.isAlive(pid) else { return }
        kill(-pid, SIGTERM)
        kill(-pid, SIGCONT)  // a stopped member acts on SIGTERM only once it runs
        if waitForGroup(seconds: Self.terminationGrace, whileWaiting) { return }
        note("anneal: stage processes still running \(Self.terminationGrace)s after SIGTERM; sent SIGKILL")
        kill(-pid, SIGKILL)
        _ = waitForGroup(seconds: 10, whileWaiting)
    }

    /// True once no member of the group is alive; false if one still is after `seconds`.
    private func waitForGroup(seconds: Double, _ whileWaiting: () -> Void) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while LeftoverGroups.isAlive(pid) {
            guard Date() < deadline else { return false }
            whileWaiting()
            usleep(10_000)
        }
        return true
    }

    /// Appends an explanation to the stage's log.
    func note(_ text: String) {
        let fd = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
