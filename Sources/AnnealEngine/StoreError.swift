import Foundation

/// Errors of the content store, action cache, ledger and lockfile, worded for the user.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case io(String)
    case corrupt(String)
    case locked(String)
    case ledger(String)
    case lockfile(String)
    /// A stage left an output the store cannot accept: the stage failed, not the store.
    case output(String)
    /// The cluster refused a stage's job (`sbatch`: resources it cannot give): the stage
    /// failed to start, not the runner.
    case refused(String)

    public var description: String {
        switch self {
        case .io(let m): m
        case .corrupt(let m): "cache corruption: \(m)"
        case .locked(let m): m
        case .ledger(let m): "ledger: \(m)"
        case .lockfile(let m): m
        case .output(let m): m
        case .refused(let m): m
        }
    }
}

extension StoreError {
    /// An I/O error with the system's reason. `errno` comes first so that it is read before
    /// the message is built: any call in between may overwrite it (a later `stat` once turned
    /// a permission error into a misleading ENOENT).
    static func system(_ code: Int32, _ what: String) -> StoreError { .io("\(what): \(String(cString: strerror(code)))") }
}
