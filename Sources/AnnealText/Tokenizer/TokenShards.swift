import Foundation

/// Token shard files.
///
/// Layout (little-endian), a 32-byte header then the tokens:
///
///     offset 0   4 bytes  magic "ANTK"
///     offset 4   u32      version (1)
///     offset 8   u32      bytes per token: 2 (uint16, vocab ≤ 65,536) or 4 (uint32)
///     offset 12  u32      vocabulary size
///     offset 16  u64      token count
///     offset 24  u64      reserved (0)
///     offset 32  tokens
///
/// Readers check magic, version and that the file length matches the count, so a
/// truncated shard is an error rather than silently shorter data.
public enum TokenShard {
    public static let magic: [UInt8] = Array("ANTK".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 32

    public static func bytesPerToken(vocabSize: Int) -> Int { vocabSize <= 65_536 ? 2 : 4 }

    static func header(bytesPerToken: Int, vocabSize: Int, count: UInt64) -> [UInt8] {
        var h = magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { h += $0 } }
        put(version); put(UInt32(bytesPerToken)); put(UInt32(vocabSize)); put(count); put(UInt64(0))
        return h
    }

    public struct Info: Sendable, Equatable {
        public var bytesPerToken: Int
        public var vocabSize: Int
        public var count: Int
    }

    /// Reads a whole shard.
    public static func read(_ url: URL) throws -> (info: Info, tokens: [UInt32]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextError(.io, "cannot read shard: \(LineReader.reason(error))", file: url.path)
        }
        let bytes = [UInt8](data)
        guard bytes.count >= headerSize, Array(bytes[0..<4]) == magic else {
            throw TextError(.badFormat, "not an Anneal token shard (bad magic)", file: url.path)
        }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * $1) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * $1) } }
        guard u32(4) == version else {
            throw TextError(.badFormat, "shard version \(u32(4)) is not supported (expected \(version))", file: url.path)
        }
        let width = Int(u32(8)), vocab = Int(u32(12)), count = Int(u64(16))
        guard width == 2 || width == 4 else { throw TextError(.badFormat, "bad token width \(width)", file: url.path) }
        guard bytes.count == headerSize + count * width else {
            throw TextError(.badFormat, "shard holds \(bytes.count - headerSize) token bytes, header says \(count) tokens of \(width) bytes (truncated?)", file: url.path)
        }
        var tokens = [UInt32](repeating: 0, count: count)
        for i in 0..<count {
            let o = headerSize + i * width
            tokens[i] = width == 2 ? UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 : u32(o)
        }
        return (Info(bytesPerToken: width, vocabSize: vocab, count: count), tokens)
    }
}

/// Writes a sequence of shards `prefix-00000.bin`, `prefix-00001.bin`, ... of at most
/// `maxTokens` each; every file appears atomically when complete.
final class ShardWriter {
    let directory: URL
    let prefix: String
    let bytesPerToken: Int
    let vocabSize: Int
    let maxTokens: Int
    private(set) var files: [(name: String, tokens: Int)] = []
    private var buffer: [UInt8] = []
    private var count = 0
    private(set) var total = 0

    init(directory: URL, prefix: String, vocabSize: Int, maxTokens: Int) {
        self.directory = directory
        self.prefix = prefix
        self.vocabSize = vocabSize
        self.maxTokens = max(1, maxTokens)
        bytesPerToken = TokenShard.bytesPerToken(vocabSize: vocabSize)
    }

    func append(_ tokens: [UInt32]) throws {
        for t in tokens {
            if bytesPerToken == 2 {
                buffer.append(UInt8(truncatingIfNeeded: t)); buffer.append(UInt8(truncatingIfNeeded: t >> 8))
            } else {
                withUnsafeBytes(of: t.littleEndian) { buffer += $0 }
            }
            count += 1
            total += 1
            if count == maxTokens { try close() }
        }
    }

    /// Ends the current shard (if it has tokens).
    func close() throws {
        guard count > 0 else { return }
        let name = String(format: "%@-%05d.bin", prefix, files.count)
        var data = Data(TokenShard.header(bytesPerToken: bytesPerToken, vocabSize: vocabSize, count: UInt64(count)))
        data.append(contentsOf: buffer)
        try JSONLines.atomicWrite(data, to: directory.appendingPathComponent(name))
        files.append((name, count))
        buffer.removeAll(keepingCapacity: true)
        count = 0
    }
}
