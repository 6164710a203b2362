import Foundation

/// Writing JSON Lines and JSON documents with stable bytes: sorted keys, no escaped
/// slashes, so equal values always give equal files (the stage cache hashes them).
enum JSONLines {
    static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func encode<T: Encodable>(_ items: [T]) throws -> Data {
        let encoder = encoder()
        var data = Data()
        for item in items {
            data.append(try encoder.encode(item))
            data.append(0x0A)
        }
        return data
    }

    static func write<T: Encodable>(_ items: [T], to url: URL) throws {
        try atomicWrite(try encode(items), to: url)
    }

    static func writeDocument<T: Encodable>(_ value: T, to url: URL) throws {
        var data = try encoder(pretty: true).encode(value)
        data.append(0x0A)
        try atomicWrite(data, to: url)
    }

    static func atomicWrite(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw TextError(.io, "cannot write: \(error.localizedDescription)", file: url.path)
        }
    }
}
