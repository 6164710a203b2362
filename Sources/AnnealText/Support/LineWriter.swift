import Foundation

/// Buffered writing of a text file that appears atomically: bytes go to `path.partial`
/// and are renamed over `path` only by `finish()`, so a crash never leaves a file that
/// looks complete.
final class LineWriter {
    let url: URL
    private let partial: URL
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var finished = false

    init(url: URL) throws {
        self.url = url
        partial = url.appendingPathExtension("partial")
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw TextError(.io, "cannot create file", file: partial.path)
        }
        do { handle = try FileHandle(forWritingTo: partial) } catch {
            throw TextError(.io, "cannot open for writing: \(LineReader.reason(error))", file: partial.path)
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
        }
    }

    func write(line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func write(bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        do { try handle.write(contentsOf: buffer) } catch {
            throw TextError(.io, "cannot write: \(LineReader.reason(error))", file: partial.path)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        try flush()
        try? handle.close()
        finished = true
        do {
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: partial, to: url)
        } catch {
            throw TextError(.io, "cannot move into place: \(LineReader.reason(error))", file: url.path)
        }
    }
}
