/// A stand-in for swift-crypto's `SHA256`, with the few members `Digest.swift` uses, so the
/// fuzz targets build with `swiftc` alone (swift-crypto's C core would need SwiftPM).
///
/// It is NOT SHA-256 and not cryptographic: four FNV-1a lanes, 32 bytes. Fuzzing needs the
/// code paths, not the exact digests; a lockfile's recorded keys therefore never match here.
public struct SHA256 {
    public struct Digest: Sequence {
        let bytes: [UInt8]
        public func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
    }

    private var lanes: [UInt64] = [0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4, 0x1000_0000_01b3, 0x9e37_79b9_7f4a_7c15]
    private var count = 0

    public init() {}

    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        for b in bufferPointer {
            let lane = count & 3
            lanes[lane] = (lanes[lane] ^ UInt64(b)) &* 0x100_0000_01b3
            count += 1
        }
    }

    public func finalize() -> Digest {
        Digest(bytes: lanes.flatMap { lane in (0..<8).map { UInt8(truncatingIfNeeded: lane >> ($0 * 8)) } })
    }

    public static func hash(data: some Sequence<UInt8>) -> Digest {
        var h = SHA256()
        let bytes = Array(data)
        bytes.withUnsafeBytes { h.update(bufferPointer: $0) }
        return h.finalize()
    }
}
