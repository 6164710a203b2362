import AnnealPipeline
import Foundation

/// One stage running as a child process, in its own process group so that stopping it stops
/// everything it started. stdout and stderr go to a log file; the stage reports progress
/// and metrics as JSON lines on file descriptor 3 (`ANNEAL_PROGRESS_FD`).
final class StageProcess: @unchecked Sendable {
    let pid: pid_t
    private let progressFD: Int32
    let logPath: String

    /// A progress line a stage wrote: `{"step": 10, "total": 100, "metrics": {"loss": 2.3}, "message": "…"}`.
    /// Top-level numbers other than `step` and `total` count as metrics too.
    struct Report: Sendable {
        var step: Int?
        var total: Int?
        var metrics: [String: Double]
        var message: String?
    }

    /// Pipe creation and spawning happen under one lock: between `pipe` and `fcntl` another
    /// thread's spawn could otherwise inherit this stage's pipe and hold it open.
    private static let spawnLock = NSLock()

    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addchdir: AddChdir? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addclosefrom: AddClosefrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddClosefrom.self) }

    /// Descriptors this process inherited without close-on-exec (a parent's leak, such as the
    /// socket Foundation's `Process` uses to see its child exit) are marked close-on-exec once,
    /// where the C library cannot close them in the child (`addclosefrom_np`, glibc 2.34+).
    /// Stages must not inherit them: a stage left running by a killed runner would hold the
    /// parent's descriptor, and the parent would wait on it for as long as the stage runs.
    private static let inheritedDescriptorsClosed: Void = {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) }
            ?? Array(3..<Int32(min(Int(sysconf(Int32(_SC_OPEN_MAX))), 4096)))
        for fd in fds where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }()

    init(argv: [String], environment: [String: String], directory: String, logPath: String) throws(StoreError) {
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .system(errno, "cannot create a pipe") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        progressFD = fds[0]
        let writeFD = fds[1]
        defer { close(writeFD) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, writeFD, 3)
        if let addclosefrom = Self.addclosefrom, addclosefrom(&actions, 4) == 0 {} else { Self.inheritedDescriptorsClosed }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // The child starts in `directory`: through posix_spawn_file_actions_addchdir_np where
        // the C library has it (glibc 2.29+, macOS 10.15+; the Swift overlay does not export it,
        // so it is looked up), else a one-line shell prelude changes directory and then execs
        // the stage itself (same pid), at the cost of one more exec per stage.
        let launch: [String]
        if let addchdir = Self.addchdir, addchdir(&actions, directory) == 0 {
            launch = argv
        } else {
            launch = ["/bin/sh", "-c", "cd -- \"$0\" && exec \"$@\"", directory] + argv
        }
        let cArgs = launch.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, launch[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else {
            close(progressFD)
            throw .io("cannot start `\(argv[0])`: \(String(cString: strerror(rc)))")
        }
        pid = child
        self.logPath = logPath
    }

    /// Reads progress lines until the stage is over; returns its exit status (or 128+signal).
    ///
    /// A stage is over when its whole process group is: once the leader exits, whatever it
    /// left running is terminated (`endGroup`) before the caller hashes the outputs, so no
    /// background process can change an output after it was hashed. Reading the progress
    /// descriptor ends with the group, even if an escaped process still holds it open.
    func wait(onReport: (Report) -> Void) -> Int32 {
        var lines = ProgressLines()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { chunk.deallocate() }
        var open = true
        /// Reads once if data arrives within `timeout` ms; false when nothing was read.
        func readProgress(timeout: Int32) -> Bool {
            guard open else { return false }
            var pfd = pollfd(fd: progressFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeout) > 0 else { return false }
            let n = read(progressFD, chunk.baseAddress, chunk.count)
            if n > 0 {
                lines.append(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) { if let r = Self.parse($0) { onReport(r) } }
                return true
            }
            if n == 0 || (errno != EINTR && errno != EAGAIN) { open = false }
            return false
        }
        var status: Int32 = 0
        while true {
            _ = readProgress(timeout: 200)
            let w = waitpid(pid, &status, open ? WNOHANG : 0)
            if w == pid { break }
            if w < 0 && errno != EINTR { status = 127 << 8; break }
        }
        endGroup { _ = readProgress(timeout: 20) }
        // What the group wrote before it ended; bounded, for a process that left the group.
        var reads = 0
        while reads < 256, readProgress(timeout: 0) { reads += 1 }
        close(progressFD)
        lines.finish { if let r = Self.parse($0) { onReport(r) } }
        if lines.dropped > 0 { note("anneal: dropped \(lines.dropped) progress line(s) longer than \(lines.limit) bytes on fd 3") }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Sends `signal` to the stage's whole process group.
    func signal(_ sig: Int32) { kill(-pid, sig) }

    static func parse(_ line: String) -> Report? {
        guard case .map(let m)? = Value.parseJSON(line.trimmingCharacters(in: .whitespaces)) else { return nil }
        var metrics: [String: Double] = [:]
        for (k, v) in m where k != "step" && k != "total" { if let d = v.doubleValue, v.boolValue == nil { metrics[k] = d } }
        for (k, v) in m["metrics"]?.mapValue ?? [:] { if let d = v.doubleValue { metrics[k] = d } }
        return Report(step: m["step"]?.intValue, total: m["total"]?.intValue, metrics: metrics, message: m["message"]?.stringValue)
    }
}
