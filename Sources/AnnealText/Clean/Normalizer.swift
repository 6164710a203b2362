import Foundation

/// Unicode NFKC, control characters and whitespace.
///
/// After NFKC (skipped for pure ASCII, where it is the identity): CR and CRLF become LF,
/// U+2028/U+2029 become LF; other C0/C1 controls, zero-width spaces/joiners and BOMs are
/// deleted; runs of spaces and tabs become one space; spaces at line ends are removed;
/// three or more newlines become two (a paragraph break); the text is trimmed.
enum Normalizer {
    /// Output under construction. A struct with mutating methods rather than local
    /// functions capturing local variables: captured variables are checked for exclusive
    /// access at run time, which cost more than the normalisation itself.
    private struct Builder {
        var out: [UInt8] = []
        var pendingSpace = false
        var newlines = 0

        @inline(__always) mutating func newline() { pendingSpace = false; newlines += 1 }
        @inline(__always) mutating func space() { if newlines == 0 { pendingSpace = true } }

        @inline(__always) mutating func emit(_ b: UInt8) {
            if !out.isEmpty {
                if newlines > 0 { out.append(0x0A); if newlines > 1 { out.append(0x0A) } }
                else if pendingSpace { out.append(0x20) }
            }
            newlines = 0
            pendingSpace = false
            out.append(b)
        }
    }

    static func normalize(_ text: String) -> String {
        var text = text
        if !text.isASCIIOnly { text = text.precomposedStringWithCompatibilityMapping }
        var builder = Builder()
        text.withUTF8 { bytes in
            builder.out.reserveCapacity(bytes.count)
            var i = 0
            let n = bytes.count
            while i < n {
                let b = bytes[i]
                if b < 0x80 {
                    switch b {
                    case 0x0A: builder.newline()
                    case 0x0D: builder.newline(); if i + 1 < n && bytes[i + 1] == 0x0A { i += 1 }
                    case 0x09, 0x20, 0x0B, 0x0C: builder.space()
                    case 0x00...0x1F, 0x7F: break
                    default: builder.emit(b)
                    }
                    i += 1
                    continue
                }
                // Multi-byte sequences that are whitespace or invisible.
                if b == 0xC2 && i + 1 < n {
                    let c = bytes[i + 1]
                    if c >= 0x80 && c <= 0x9F { i += 2; continue }           // C1 controls
                    if c == 0xA0 { builder.space(); i += 2; continue }       // no-break space
                }
                if b == 0xE2 && i + 2 < n && bytes[i + 1] == 0x80 {
                    let c = bytes[i + 2]
                    if c >= 0x8B && c <= 0x8D { i += 3; continue }           // zero-width space/joiners
                    if c == 0xA8 || c == 0xA9 { builder.newline(); i += 3; continue }
                    if c <= 0x8A || c == 0xAF { builder.space(); i += 3; continue }
                }
                if b == 0xEF && i + 2 < n && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF { i += 3; continue }
                let width = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                for k in 0..<min(width, n - i) { builder.emit(bytes[i + k]) }
                i += width
            }
        }
        return String(decoding: builder.out, as: UTF8.self)
    }
}

/// Redacts emails, phone numbers and IPv4 addresses with `<EMAIL>`, `<PHONE>`, `<IP>`.
/// The patterns are conservative (a phone number needs 8+ digits in groups), so dates and
/// amounts survive; the cheap byte checks skip the regular expressions on most documents.
enum PIIRedactor {
    static let email = try! NSRegularExpression(
        pattern: "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}")
    static let ip = try! NSRegularExpression(
        pattern: "(?<![\\d.])(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?![\\d.]*\\d)")
    static let phone = try! NSRegularExpression(
        pattern: "(?<![\\w+])(?:\\+\\d{1,3}[ .-]?)?(?:\\(\\d{2,4}\\)[ .-]?|\\d{2,4}[ .-])\\d{3,4}[ .-]?\\d{3,4}(?!\\w)")

    static func redact(_ text: String) -> (String, PIICounts) {
        var counts = PIICounts()
        var digits = 0
        var hasAt = false
        for b in text.utf8 {
            if b >= 0x30 && b <= 0x39 { digits += 1 } else if b == UInt8(ascii: "@") { hasAt = true }
        }
        guard hasAt || digits >= 4 else { return (text, counts) }
        var result = text
        func replace(_ regex: NSRegularExpression, _ token: String) -> Int {
            let range = NSRange(result.startIndex..., in: result)
            let found = regex.numberOfMatches(in: result, range: range)
            if found > 0 { result = regex.stringByReplacingMatches(in: result, range: range, withTemplate: token) }
            return found
        }
        if hasAt { counts.emails = replace(email, "<EMAIL>") }
        if digits >= 4 { counts.ips = replace(ip, "<IP>") }
        if digits >= 8 { counts.phones = replace(phone, "<PHONE>") }
        return (result, counts)
    }
}

/// How many of each kind of personal data were redacted.
public struct PIICounts: Codable, Sendable, Equatable {
    public var emails = 0, phones = 0, ips = 0
    public var total: Int { emails + phones + ips }
    mutating func add(_ other: PIICounts) { emails += other.emails; phones += other.phones; ips += other.ips }
}
