/// Pronounceable invented names, unique across every kind of entity. Names reuse a small
/// inventory of syllables so a small BPE vocabulary learns each syllable as one token and a
/// name costs two or three tokens; a name never collides with an English word of the
/// templates because every name has at least two syllables and a capital letter.
struct NameMaker {
    private static let onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"]
    private static let vowels = ["a", "e", "i", "o", "u"]
    private static let codas = ["", "", "", "n", "r", "l", "s"]
    private var used = Set<String>()

    private static func syllable(_ rng: inout SplitMix64, coda: Bool) -> String {
        rng.pick(Self.onsets) + rng.pick(Self.vowels) + (coda ? rng.pick(Self.codas) : "")
    }

    /// Draws until an unused name comes up; the inventory (14 × 5 × 7 per syllable) is far
    /// larger than any world, so this ends quickly.
    private mutating func unique(_ rng: inout SplitMix64, _ make: (inout SplitMix64) -> String) -> String {
        while true {
            let raw = make(&rng)
            let name = raw.prefix(1).uppercased() + raw.dropFirst()
            if used.insert(name).inserted { return name }
        }
    }

    mutating func country(_ rng: inout SplitMix64) -> String {
        unique(&rng) { r in
            Self.syllable(&r, coda: true) + Self.syllable(&r, coda: false) + r.pick(["ria", "nia", "land", "mar", "via"])
        }
    }
    mutating func city(_ rng: inout SplitMix64) -> String {
        unique(&rng) { r in Self.syllable(&r, coda: false) + Self.syllable(&r, coda: true) }
    }
    mutating func language(_ rng: inout SplitMix64) -> String {
        unique(&rng) { r in Self.syllable(&r, coda: false) + Self.syllable(&r, coda: false) + r.pick(["ish", "ese", "ic"]) }
    }
    mutating func currency(_ rng: inout SplitMix64) -> String {
        // Lower case: a currency is a common noun ("ten dorins").
        let name = unique(&rng) { r in Self.syllable(&r, coda: false) + Self.syllable(&r, coda: true) }
        return name.lowercased()
    }
    mutating func firstName(_ rng: inout SplitMix64) -> String {
        unique(&rng) { r in Self.syllable(&r, coda: false) + Self.syllable(&r, coda: r.chance(0.5)) }
    }
    mutating func lastName(_ rng: inout SplitMix64) -> String {
        unique(&rng) { r in Self.syllable(&r, coda: true) + Self.syllable(&r, coda: false) + r.pick(["k", "n", "s", "t"]) }
    }
}
