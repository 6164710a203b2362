import Foundation

/// Reads a file line by line in 1 MiB chunks, so memory is bounded by the longest line,
/// not the file. Lines end at `\n`; a trailing `\r` is dropped (CRLF files). Each line
/// must be valid UTF-8, otherwise the error names the file and line.
public struct LineReader {
    public let url: URL
    public var chunkSize = 1 << 20

    public init(url: URL) { self.url = url }

    /// Calls `body` with each line's text and its 1-based number; returns the line count.
    @discardableResult
    public func forEachLine(_ body: (_ line: String, _ number: Int) throws -> Void) throws -> Int {
        try forEachLineBytes { bytes, number in
            guard let line = Self.decode(bytes) else {
                throw TextError(.invalidUTF8, "invalid UTF-8 (the file must be UTF-8 text)", file: url.path, line: number)
            }
            try body(line, number)
        }
    }

    /// The same over raw bytes (no UTF-8 check), for callers that only copy lines through.
    @discardableResult
    public func forEachLineBytes(_ body: (_ bytes: ArraySlice<UInt8>, _ number: Int) throws -> Void) throws -> Int {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw TextError(.io, "cannot open: \(Self.reason(error))", file: url.path)
        }
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        var number = 0
        var atEnd = false
        while !atEnd {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: chunkSize) } catch {
                throw TextError(.io, "cannot read: \(Self.reason(error))", file: url.path)
            }
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { atEnd = true }
            var start = 0
            while let newline = buffer[start...].firstIndex(of: 0x0A) {
                number += 1
                var end = newline
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                try body(buffer[start..<end], number)
                start = newline + 1
            }
            if atEnd && start < buffer.count {
                number += 1
                var end = buffer.count
                if buffer[end - 1] == 0x0D { end -= 1 }
                try body(buffer[start..<end], number)
                start = buffer.count
            }
            buffer.removeFirst(start)
        }
        return number
    }

    /// Strict UTF-8 decoding (nil on invalid input). ASCII lines skip validation; the
    /// Foundation initialiser keeps the package's macOS 13 floor (the standard library's
    /// `String(validating:)` needs a newer runtime there).
    static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        var high: UInt8 = 0
        for b in bytes { high |= b }
        if high < 0x80 { return String(decoding: bytes, as: UTF8.self) }
        return String(bytes: bytes, encoding: .utf8)
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? error.localizedDescription
    }
}
