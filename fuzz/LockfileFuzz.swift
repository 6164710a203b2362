import AnnealEngine
import AnnealPipeline
import Foundation

/// libFuzzer target: the lockfile reader (`Lockfile.read`, which takes a path, so each input
/// goes through one scratch file). A lockfile that reads must also round-trip: writing it
/// and reading it back gives the same text, or `repro` would compare against other facts.
@_cdecl("LLVMFuzzerTestOneInput")
public func lockfileFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzWorkspace.shared.scratchFile
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    for verify in [false, true] {
        guard let lock = try? Lockfile.read(path, verifyKeys: verify) else { continue }
        let text = lock.encoded()
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        do {
            let again = try Lockfile.read(path, verifyKeys: false).encoded()
            if again != text { fail("a lockfile does not round-trip; written:\n\(text)\nread back and written again:\n\(again)") }
        } catch {
            fail("a lockfile anneal wrote cannot be read back: \(error)\n\(text)")
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    }
    return 0
}
