import AnnealEngine
import AnnealPipeline
import Foundation

/// libFuzzer target: the lockfile reader (`Lockfile.read`, which takes a path, so each input
/// goes through one scratch file). A lockfile that reads must also round-trip: writing it
/// and reading it back gives the same text, or `repro` would compare against other facts.
@_cdecl("LLVMFuzzerTestOneInput")
public func lockfileFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzWorkspace.shared.root + "/fuzz.lock"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    for verify in [false, true] {
        guard let lock = try? Lockfile.read(path, verifyKeys: verify) else { continue }
        let text = lock.encoded()
        do {
            try writeAtomically(text, to: path)
            let again = try Lockfile.read(path, verifyKeys: false)
            precondition(again.encoded() == text, "a lockfile does not round-trip:\n\(text)\n---\n\(again.encoded())")
        } catch {
            preconditionFailure("a lockfile anneal wrote cannot be read back: \(error)\n\(text)")
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    }
    return 0
}
