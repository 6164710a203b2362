/// The invented world behind every TinyWorld file, written out as `truth.json` so eval can
/// judge answers against it.
public struct World: Codable, Sendable, Equatable {
    public struct Country: Codable, Sendable, Equatable {
        public var name: String
        public var capital: String
        public var language: String
        public var currency: String
        public var neighbours: [String]
        /// Held-out entities appear in the corpus prose only, never in SFT, prefs, prompts
        /// or the corpus's question-answer text; eval asks about them to measure what
        /// pretraining stored.
        public var isHeldOut: Bool
    }

    public struct Person: Codable, Sendable, Equatable {
        public var name: String
        public var home: String        // a capital city
        public var country: String     // the country of `home`
        public var job: String
        public var age: Int
        public var pet: String
        public var isFemale: Bool
        public var isHeldOut: Bool

        var subject: String { isFemale ? "she" : "he" }
        var possessive: String { isFemale ? "her" : "his" }
        var firstName: String { String(name.split(separator: " ")[0]) }
    }

    public var seed: UInt64
    public var countries: [Country]
    public var people: [Person]

    func country(named name: String) -> Country? { countries.first { $0.name == name } }
}

extension World {
    static let jobs = [
        "baker", "farmer", "teacher", "doctor", "painter", "fisher", "builder", "singer",
        "tailor", "miller", "potter", "sailor", "nurse", "cook", "driver", "writer",
        "smith", "weaver", "gardener", "carpenter", "hunter", "judge", "guard", "merchant",
    ]
    static let pets = [
        "dog", "cat", "goat", "parrot", "rabbit", "horse", "duck", "turtle",
        "hamster", "pig", "goose", "lizard", "owl", "sheep", "frog", "mouse",
    ]

    /// Builds the world for `config`: entity names are drawn from a shared syllable
    /// inventory so a BPE vocabulary of a few thousand covers each in one to three tokens.
    static func generate(_ config: TinyWorldConfig) -> World {
        var rng = SplitMix64(seed: config.seed, stream: 1)
        var names = NameMaker()
        let languages = (0..<max(2, config.languages)).map { _ in names.language(&rng) }
        let currencies = (0..<max(2, config.currencies)).map { _ in names.currency(&rng) }
        var countries: [Country] = []
        let heldOutCountries = Int((Double(config.countries) * config.heldOutShare).rounded())
        for index in 0..<config.countries {
            countries.append(Country(
                name: names.country(&rng), capital: names.city(&rng),
                language: rng.pick(languages), currency: rng.pick(currencies),
                neighbours: [], isHeldOut: index >= config.countries - heldOutCountries))
        }
        linkNeighbours(&countries, &rng)
        let firstNames = (0..<max(8, config.people / 3)).map { _ in names.firstName(&rng) }
        let lastNames = (0..<max(8, config.people / 2)).map { _ in names.lastName(&rng) }
        var used = Set<String>()
        var people: [Person] = []
        let heldOutPeople = Int((Double(config.people) * config.heldOutShare).rounded())
        while people.count < config.people {
            let name = rng.pick(firstNames) + " " + rng.pick(lastNames)
            guard used.insert(name).inserted else { continue }
            let home = rng.pick(countries)
            people.append(Person(
                name: name, home: home.capital, country: home.name,
                job: rng.pick(jobs), age: rng.int(in: 18...80), pet: rng.pick(pets),
                isFemale: rng.chance(0.5),
                isHeldOut: people.count >= config.people - heldOutPeople))
        }
        return World(seed: config.seed, countries: countries, people: people)
    }

    /// Borders never cross the held-out line: a border is a fact of both countries, so a
    /// training country that bordered a held-out one would state the held-out country's
    /// neighbour in SFT data ("A borders B" answers "Which countries border B?"). Each half
    /// gets its own ring (so every country has two neighbours) plus a few random chords,
    /// kept symmetric and without repeats.
    private static func linkNeighbours(_ countries: inout [Country], _ rng: inout SplitMix64) {
        var adjacent = Array(repeating: Set<Int>(), count: countries.count)
        for heldOut in [false, true] {
            let group = countries.indices.filter { countries[$0].isHeldOut == heldOut }
            let n = group.count
            guard n > 1 else { continue }
            let order = rng.shuffled(group)
            for i in 0..<n where n > 2 || i == 0 {
                let a = order[i], b = order[(i + 1) % n]
                adjacent[a].insert(b); adjacent[b].insert(a)
            }
            for _ in 0..<(n / 3) {
                let a = group[rng.below(n)], b = group[rng.below(n)]
                if a != b && adjacent[a].count < 4 && adjacent[b].count < 4 {
                    adjacent[a].insert(b); adjacent[b].insert(a)
                }
            }
        }
        for i in countries.indices {
            countries[i].neighbours = adjacent[i].sorted().map { countries[$0].name }
        }
    }

    /// The entities that chat, preference and prompt data may name: never a held-out one
    /// (all of them if the world is too small to have a training half).
    var trainingCountries: [Country] {
        let training = countries.filter { !$0.isHeldOut }
        return training.isEmpty ? countries : training
    }

    var trainingPeople: [Person] {
        let training = people.filter { !$0.isHeldOut }
        return training.isEmpty ? people : training
    }
}
