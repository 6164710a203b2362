import Foundation

/// Splits what a stage writes on its progress descriptor into lines.
///
/// Each byte is scanned once, however it arrives, and at most `limit` bytes of an unfinished
/// line are held: a longer line is dropped whole and counted in `dropped`. (Rescanning the
/// whole buffer for every 64 KiB chunk made 50 MB without a newline cost 19 s and 231 MB.)
struct ProgressLines {
    /// A progress line is a small JSON object; 1 MiB is far more than any honest one needs.
    static let defaultLimit = 1 << 20

    let limit: Int
    private var pending: [UInt8] = []
    /// Inside a line that was already too long: skip to its newline.
    private var discarding = false
    private(set) var dropped = 0

    init(limit: Int = ProgressLines.defaultLimit) { self.limit = limit }

    /// Bytes held for the line not yet ended; never more than `limit`.
    var buffered: Int { pending.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer, line: (String) -> Void) {
        var start = 0
        while start < bytes.count {
            guard let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) else { break }
            let newline = bytes.baseAddress!.distance(to: UnsafeRawPointer(found))
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<newline])
            if discarding {
                discarding = false
            } else if pending.count + piece.count > limit {
                pending.removeAll(keepingCapacity: false)
                dropped += 1
            } else if pending.isEmpty {
                line(String(decoding: piece, as: UTF8.self))
            } else {
                pending.append(contentsOf: piece)
                line(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
        guard start < bytes.count, !discarding else { return }
        if pending.count + (bytes.count - start) > limit {
            pending.removeAll(keepingCapacity: false)
            discarding = true
            dropped += 1
        } else {
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        }
    }

    /// The last line, if the stage ended without a newline.
    mutating func finish(line: (String) -> Void) {
        if !pending.isEmpty, !discarding { line(String(decoding: pending, as: UTF8.self)) }
        pending = []
        discarding = false
    }
}
