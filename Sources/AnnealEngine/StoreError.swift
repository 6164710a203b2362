/// Errors of the content store, action cache, ledger and lockfile, worded for the user.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case io(String)
    case corrupt(String)
    case locked(String)
    case ledger(String)
    case lockfile(String)
    /// A stage left an output the store cannot accept: the stage failed, not the store.
    case output(String)

    public var description: String {
        switch self {
        case .io(let m): m
        case .corrupt(let m): "cache corruption: \(m)"
        case .locked(let m): m
        case .ledger(let m): "ledger: \(m)"
        case .lockfile(let m): m
        case .output(let m): m
        }
    }
}
