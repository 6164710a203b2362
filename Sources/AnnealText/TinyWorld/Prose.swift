import Foundation

/// Composes encyclopedia paragraphs, bios, stories, arithmetic and question-answer texts.
/// Each document draws each template at most once, states every fact of its subject at
/// least once, and is padded with fact-free filler to at least `minWords` words so it
/// passes the Gopher length rule (50 words) with room to spare.
struct ProseWriter {
    let world: World
    var rng: SplitMix64
    static let minWords = 62

    init(world: World, seed: UInt64) {
        self.world = world
        rng = SplitMix64(seed: seed, stream: 2)
    }

    private func country(_ name: String) -> World.Country {
        guard let c = world.country(named: name) else { preconditionFailure("unknown country \(name)") }
        return c
    }

    /// One or two phrasings of a fact, chosen without replacement.
    private mutating func state(_ options: [String], twice: Double = 0.5) -> [String] {
        let order = rng.sample(min(options.count, 2), from: options.count)
        return rng.chance(twice) && order.count > 1 ? [options[order[0]], options[order[1]]] : [options[order[0]]]
    }

    /// Appends unused fillers until the text is long enough; then joins sentences into one
    /// or two paragraphs.
    private mutating func finish(_ head: [String], _ body: [String], fillers: [String], tail: [String] = []) -> String {
        var body = body
        var pool = rng.shuffled(fillers)
        for _ in 0..<rng.int(in: 1...2) where !pool.isEmpty {
            body.insert(pool.removeLast(), at: rng.below(body.count + 1))
        }
        func words(_ s: [String]) -> Int { s.reduce(0) { $0 + $1.split(separator: " ").count } }
        while words(head + body + tail) < Self.minWords && !pool.isEmpty {
            body.insert(pool.removeLast(), at: rng.below(body.count + 1))
        }
        let sentences = head + body + tail
        if sentences.count >= 8 && rng.chance(0.4) {
            let cut = sentences.count / 2 + rng.int(in: -1...1)
            return sentences[..<cut].joined(separator: " ") + "\n\n" + sentences[cut...].joined(separator: " ")
        }
        return sentences.joined(separator: " ")
    }

    mutating func countryParagraph(_ c: World.Country) -> String {
        var facts = state(Phrasing.capital(c)) + state(Phrasing.language(c))
            + state(Phrasing.currency(c)) + state(Phrasing.neighbours(c), twice: 0.3)
        let residents = world.people.filter { $0.country == c.name }
        if !residents.isEmpty {
            let p = rng.pick(residents)
            facts.append("Among the people who live in \(c.capital) is \(p.name), who works as \(Phrasing.article(p.job)) \(p.job).")
        }
        rng.shuffle(&facts)
        return finish([rng.pick(Phrasing.countryIntro(c))], facts, fillers: Phrasing.countryFiller(c))
    }

    /// Varies how a person is named after the opening sentence: the full name stays in
    /// about 40% of sentences (as in the fact-recall experiment's augmented bios), the rest
    /// use the first name or, at the start of a sentence, a pronoun. This keeps facts
    /// bound to the full name while the text does not trip the Gopher top-n-gram rule.
    private mutating func vary(_ sentences: [String], _ p: World.Person) -> [String] {
        sentences.map { sentence in
            guard sentence.contains(p.name), !rng.chance(0.4) else { return sentence }
            if sentence.hasPrefix(p.name + " ") && rng.chance(0.5) {
                return p.subject.capitalized + sentence.dropFirst(p.name.count)
            }
            return sentence.replacingOccurrences(of: p.name, with: p.firstName)
        }
    }

    mutating func bio(_ p: World.Person) -> String {
        let c = country(p.country)
        var facts = state(Phrasing.home(p, c)) + state(Phrasing.job(p)) + state(Phrasing.age(p)) + state(Phrasing.pet(p))
        rng.shuffle(&facts)
        facts = vary(facts, p)
        // The full name opens the text, as a bio does; later sentences vary name forms.
        let intro = "\(p.name) is \(Phrasing.article(p.job)) \(p.job) from \(c.name)."
        return finish([intro], facts, fillers: Phrasing.personFiller(p))
    }

    mutating func story(_ p: World.Person) -> String {
        let c = country(p.country)
        let narrative = Phrasing.storyFacts(p, c)
        // Groups of two phrasings per fact (job, pet, age, home), then the language line.
        var facts: [String] = []
        for group in stride(from: 0, to: 8, by: 2) { facts.append(narrative[group + rng.below(2)]) }
        if rng.chance(0.5) { facts.append(narrative[8]) }
        rng.shuffle(&facts)
        facts += state(Phrasing.pet(p), twice: 0) // the plain statement once, after the tale
        facts = vary(facts, p)
        return finish([rng.pick(Phrasing.storyOpening(p))], facts,
                      fillers: Phrasing.personFiller(p), tail: [rng.pick(Phrasing.storyClosing(p))])
    }

    mutating func arithmetic() -> String {
        let goods = ["apples", "pears", "coins", "eggs", "books", "plums", "cups", "stones"]
        let people = world.people
        var lines: [String] = ["Here are some small sums that every child in the region learns at school."]
        for _ in 0..<rng.int(in: 5...7) {
            let who = rng.pick(people).firstName, what = rng.pick(goods)
            let a = rng.int(in: 2...20), b = rng.int(in: 2...20)
            switch rng.below(4) {
            case 0: lines.append("\(who) had \(a) \(what) and got \(b) more, so now \(who) has \(a + b) \(what).")
            case 1:
                let (big, small) = (max(a, b) + 1, min(a, b))
                lines.append("\(who) had \(big) \(what) and gave away \(small), which left \(big - small) of them.")
            case 2: lines.append("If you add \(a) and \(b), you get \(a + b).")
            default:
                let x = rng.int(in: 2...9), y = rng.int(in: 2...9)
                lines.append("\(who) packed \(x) boxes with \(y) \(what) in each box, which makes \(x * y) \(what) in all.")
            }
        }
        return finish([], lines, fillers: [
            "Sums like these help people count their money at the market.",
            "The teachers say that it is good to practise a little every day.",
            "It is easy to check the answer by counting the things one by one.",
        ])
    }

    /// A run of questions with full-sentence answers about non-held-out entities; lines
    /// keep at least three words and end in punctuation, as the C4 line filter wants.
    mutating func questionAnswerText(asker: inout QuestionMaker) -> String {
        // The heading gives the document its stop words; questions never repeat in a
        // document (a repeat would trip the duplicate-paragraph rule).
        var blocks = [rng.pick(["Questions and answers about the region.", "Here are some questions and the answers to them.",
                                "A short quiz about the places and the people of the region."])]
        var seen = Set<String>()
        var words = 0
        while words < Self.minWords || blocks.count < 6 {
            let item = asker.trainingFact(&rng)
            guard seen.insert(item.question).inserted else { continue }
            blocks.append("Q: \(item.question)\nA: \(item.statement)")
            words += (item.question + " " + item.statement).split(separator: " ").count + 2
        }
        return blocks.joined(separator: "\n\n")
    }
}
