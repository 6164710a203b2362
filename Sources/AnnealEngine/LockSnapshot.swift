import Foundation

/// The lockfile a run starts from: its bytes, read at once, and its parse, done only when
/// something needs the old facts — the reasons of a stage that runs, `--locked`, or the entries
/// a partial run keeps for the stages it did not reach. A no-op run compares the bytes it would
/// write with these and parses nothing (a YAML parse of a 1,000-stage lock was an eighth of it).
public final class LockSnapshot: @unchecked Sendable {
    public let path: String
    /// Nil when there is no lockfile, or it could not be read (`readError`).
    let bytes: [UInt8]?
    /// Why a lockfile that exists could not be read (permissions, not a file, an I/O error):
    /// never mistaken for "no lockfile".
    let readError: StoreError?
    private let lock = NSLock()
    private var parsed: Lockfile??
    private let unreadable: @Sendable (StoreError) -> Void

    /// Reads `path`. A lockfile that cannot be read or does not parse is treated as absent
    /// when first needed, after `unreadable` was told why (a run rewrites it).
    public init(path: String, unreadable: @escaping @Sendable (StoreError) -> Void) {
        self.path = path
        (bytes, readError) = Self.read(path)
        self.unreadable = unreadable
    }

    /// An already parsed lockfile (`repro` reads its own, `--locked` verifies the keys first).
    public init(path: String, parsed: Lockfile?) {
        self.path = path
        (bytes, readError) = Self.read(path)
        self.parsed = .some(parsed)
        unreadable = { _ in }
    }

    /// The file's bytes; nil and no error when it does not exist.
    static func read(_ path: String) -> ([UInt8]?, StoreError?) {
        switch readSmallFile(path) {
        case .success(let file): return (file.bytes, nil)
        case .failure(.missing): return (nil, nil)
        case .failure(.notRegular): return (nil, .io("cannot read the lockfile \(path): it is not a regular file"))
        case .failure(.failed(let code)): return (nil, .system(code, "cannot read the lockfile \(path)"))
        }
    }

    public var exists: Bool { bytes != nil }

    /// The old lockfile's facts, parsed on first use.
    public var lockfile: Lockfile? {
        lock.lock()
        defer { lock.unlock() }
        if let parsed { return parsed }
        var result: Lockfile?
        if let readError { unreadable(readError) }
        if let bytes {
            do { result = try Lockfile.parse(bytes, path: path, verifyKeys: false) } catch { unreadable(error) }
        }
        parsed = .some(result)
        return result
    }

    /// Parses now, failing on any problem (`--locked` refuses to run on a lock it cannot trust).
    public func verified() throws(StoreError) -> Lockfile? {
        if let readError { throw readError }
        guard let bytes else { return nil }
        let lock = try Lockfile.parse(bytes, path: path, verifyKeys: true)
        self.lock.lock()
        parsed = .some(lock)
        self.lock.unlock()
        return lock
    }
}
