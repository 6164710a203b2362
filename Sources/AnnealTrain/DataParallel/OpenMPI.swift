import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few Open MPI entry points data-parallel training needs, loaded at run time.
///
/// libmpi is `dlopen`ed rather than linked so that building Anneal never needs
/// libopenmpi-dev: only a stage with `tasks: N > 1` looks for it, and says what to install
/// when it is missing. Where: `ANNEAL_MPI_LIB` if set, else `pkg-config --variable=libdir
/// ompi-c` (Debian's libopenmpi-dev), else the dynamic linker's search for `libmpi.so.40` (the
/// Open MPI 3.x–5.x ABI). Open MPI's handles are the addresses of its predefined objects
/// (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`), so `dlsym` of those names gives them.
/// RTLD_GLOBAL: Open MPI's own plugins, dlopened in turn, resolve libmpi's symbols globally.
final class OpenMPI: @unchecked Sendable {
    typealias Handle = OpaquePointer
    private typealias InitFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    private typealias CommIntFn = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    private typealias AllreduceFn = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer, Int32, Handle, Handle, Handle) -> Int32
    private typealias FinalizeFn = @convention(c) () -> Int32
    private typealias AbortFn = @convention(c) (Handle, Int32) -> Int32

    private let initFn: InitFn
    private let commRank: CommIntFn
    private let commSize: CommIntFn
    private let allreduceFn: AllreduceFn
    private let finalizeFn: FinalizeFn
    private let abortFn: AbortFn
    let world: Handle
    let float: Handle
    let double: Handle
    let sum: Handle
    let library: String

    /// Open MPI's `MPI_IN_PLACE`.
    static var inPlace: UnsafeRawPointer? { UnsafeRawPointer(bitPattern: 1) }

    struct Missing: Error, CustomStringConvertible {
        var tried: [String]
        /// Why each candidate that exists did not load (`dlerror`): a library that is there but
        /// broken is not "not found".
        var failures: [String] = []
        var description: String {
            "Open MPI was not found (tried \(tried.joined(separator: ", ")))"
                + (failures.isEmpty ? "" : "; " + failures.joined(separator: "; "))
                + "; a stage with tasks > 1 needs it: "
                + "install it (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev), or set ANNEAL_MPI_LIB to the path of libmpi.so"
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(candidates: [String] = OpenMPI.candidates(ProcessInfo.processInfo.environment)) throws {
        var handle: UnsafeMutableRawPointer?
        var found = ""
        var failures: [String] = []
        for path in candidates {
            if let h = dlopen(path, RTLD_NOW | RTLD_GLOBAL) { handle = h; found = path; break }
            if path.hasPrefix("/"), FileManager.default.fileExists(atPath: path), let error = dlerror() {
                failures.append("\(path) did not load: \(String(cString: error))")
            }
        }
        guard let handle else { throw Missing(tried: candidates, failures: failures) }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let s = dlsym(handle, name) else {
                throw Failure(description: "\(found) has no symbol \(name): tasks > 1 needs Open MPI's libmpi (not MPICH's)")
            }
            return s
        }
        initFn = unsafeBitCast(try symbol("MPI_Init"), to: InitFn.self)
        commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: CommIntFn.self)
        commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: CommIntFn.self)
        allreduceFn = unsafeBitCast(try symbol("MPI_Allreduce"), to: AllreduceFn.self)
        finalizeFn = unsafeBitCast(try symbol("MPI_Finalize"), to: FinalizeFn.self)
        abortFn = unsafeBitCast(try symbol("MPI_Abort"), to: AbortFn.self)
        world = Handle(try symbol("ompi_mpi_comm_world"))
        float = Handle(try symbol("ompi_mpi_float"))
        double = Handle(try symbol("ompi_mpi_double"))
        sum = Handle(try symbol("ompi_mpi_op_sum"))
        library = found
    }

    /// `ANNEAL_MPI_LIB`, pkg-config's libdir, then the soname.
    static func candidates(_ environment: [String: String]) -> [String] {
        var out: [String] = []
        if let lib = environment["ANNEAL_MPI_LIB"], !lib.isEmpty { out.append(lib) }
        if let dir = pkgConfigLibdir() { out.append(dir + "/libmpi.so") }
        out += ["libmpi.so.40", "libmpi.so"]
        return out
    }

    private static func pkgConfigLibdir() -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["pkg-config", "--variable=libdir", "ompi-c"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let dir = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return p.terminationStatus == 0 && !dir.isEmpty ? dir : nil
    }

    func start() throws {
        try check(initFn(nil, nil), "MPI_Init")
    }

    func rankAndSize() throws -> (rank: Int, size: Int) {
        var rank: Int32 = 0, size: Int32 = 0
        try check(commRank(world, &rank), "MPI_Comm_rank")
        try check(commSize(world, &size), "MPI_Comm_size")
        return (Int(rank), Int(size))
    }

    /// In-place sum over all ranks, in chunks a 32-bit count can hold.
    func allreduceSum(_ buffer: UnsafeMutableRawPointer, count: Int, type: Handle, stride: Int) throws {
        var done = 0
        while done < count {
            let n = min(count - done, Int(Int32.max))
            try check(allreduceFn(Self.inPlace, buffer + done * stride, Int32(n), type, sum, world), "MPI_Allreduce")
            done += n
        }
    }

    func finish() { _ = finalizeFn() }

    /// Ends every rank: one that fails alone would leave the others waiting in a collective.
    func abort(code: Int32) { _ = abortFn(world, code) }

    private func check(_ code: Int32, _ call: String) throws {
        if code != 0 { throw Failure(description: "\(call) failed with MPI error \(code)") }
    }
}
