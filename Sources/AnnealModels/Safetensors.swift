import AnnealCompute
import Foundation

/// The safetensors format (https://huggingface.co/docs/safetensors):
///
///     u64 little-endian N | N bytes of UTF-8 JSON header | tensor bytes
///
/// The header maps each name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
/// relative to the first byte after the header) plus an optional "__metadata__" object of
/// string → string. Anneal writes F32 little-endian only, names sorted, header padded with
/// spaces to a multiple of 8 bytes, so equal tensors always give equal bytes. The format has
/// no magic number of its own: Anneal's files carry `anneal.format` and
/// `anneal.format_version` in the metadata and check them on load.
public enum Safetensors {
    /// A file's tensors by name, in file order, and its metadata.
    public struct File {
        public var tensors: [String: Tensor]
        public var order: [String]
        public var metadata: [String: String]
    }

    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> Data {
        let names = tensors.keys.sorted()
        var json = "{"
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            json += "\"__metadata__\":{\(pairs.joined(separator: ","))}"
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            if json.count > 1 { json += "," }
            let shape = t.shape.map(String.init).joined(separator: ",")
            json += "\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + 4 * t.count)]}"
            offset += 4 * t.count
        }
        json += "}"
        var header = Data(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        for name in names {
            let t = tensors[name]!
            // Float's in-memory order is little-endian on every platform Anneal targets.
            out.append(UnsafeBufferPointer(start: t.pointer, count: t.count))
        }
        return out
    }

    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                             to url: URL) throws(ModelError) {
        do {
            try encode(tensors, metadata: metadata).write(to: url, options: .atomic)
        } catch {
            throw ModelError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    public static func read(_ url: URL) throws(ModelError) -> File {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw ModelError(.io, "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try decode(data, source: url.lastPathComponent)
    }

    public static func decode(_ data: Data, source: String) throws(ModelError) -> File {
        func bad(_ why: String) -> ModelError { ModelError(.format, "\(source): not a valid safetensors file: \(why)") }
        guard data.count >= 8 else { throw bad("\(data.count) bytes is shorter than the 8-byte header length") }
        let n = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8) else { throw bad("header length \(n) exceeds file size \(data.count)") }
        let headerEnd = 8 + Int(n)
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) } catch {
            throw bad("header is not JSON (\(error.localizedDescription))")
        }
        guard let header = object as? [String: Any] else { throw bad("header is not a JSON object") }
        var file = File(tensors: [:], order: [], metadata: [:])
        if let meta = header["__metadata__"] as? [String: String] { file.metadata = meta }
        var entries: [(String, Int, [Int], Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2
            else { throw bad("entry '\(name)' lacks dtype, shape or data_offsets") }
            guard dtype == "F32" else {
                throw ModelError(.unsupported, "\(source): tensor '\(name)' has dtype \(dtype); Anneal reads F32 only (convert with safetensors + torch: t.float())")
            }
            let count = shape.reduce(1, *)
            guard offs[1] - offs[0] == 4 * count, offs[0] >= 0, headerEnd + offs[1] <= data.count else {
                throw bad("tensor '\(name)' of shape \(shape) has data_offsets \(offs) (data section is \(data.count - headerEnd) bytes)")
            }
            entries.append((name, offs[0], shape, count))
        }
        entries.sort { $0.1 < $1.1 }
        data.withUnsafeBytes { raw in
            for (name, begin, shape, count) in entries {
                let t = Tensor(zeros: shape)
                let src = UnsafeRawBufferPointer(rebasing: raw[(headerEnd + begin)..<(headerEnd + begin + 4 * count)])
                UnsafeMutableRawBufferPointer(start: t.pointer, count: 4 * count).copyMemory(from: src)
                file.tensors[name] = t
                file.order.append(name)
            }
        }
        return file
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
