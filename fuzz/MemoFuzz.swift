import AnnealEngine
import AnnealPipeline
import Foundation

/// libFuzzer target: the no-op memo reader (`NoOpMemo.parse`), on the input as it is (a memo
/// file planted or damaged in the cache) and on the input sealed with a valid header and
/// checksum (so mutations reach the record parser behind the checksum). A memo that parses
/// must round-trip: what it encodes parses to the same bytes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func memoFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = Array(UnsafeBufferPointer(start: data, count: size))
    let sealed = Array("\(NoOpMemo.header)\nsum\t\(Digest.of(raw))\n".utf8) + raw
    for input in [raw, sealed] {
        guard let memo = NoOpMemo.parse(input) else { continue }
        let written = memo.encoded()
        guard let again = NoOpMemo.parse(written) else { fail("a memo anneal wrote cannot be read back:\n\(String(decoding: written, as: UTF8.self))") }
        if again.encoded() != written { fail("a memo does not round-trip:\n\(String(decoding: written, as: UTF8.self))") }
    }
    return 0
}
