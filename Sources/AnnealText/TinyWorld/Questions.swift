/// A question about one fact, its canonical polite answer, the short answer an evaluator
/// looks for, and the other values a judge should treat as wrong.
struct FactQuestion {
    var subject: String
    var attribute: String
    var question: String
    /// The canonical concise, polite, correct reply. About a person it opens with a pronoun,
    /// not the name: an answer that restates a two-token name must copy it, and after SFT
    /// on training people only, a held-out person's last name was swapped for a seen one
    /// ("Where does Rozor Zinik live?" → "Rozor Derset lives in Bazi."), losing facts the
    /// model had stored (cloze 0.63 vs QA 0.17 on homes; docs/tinychat-recipe.md).
    var answer: String
    /// The answer as the corpus states it, naming the subject: the corpus's question-answer
    /// text uses it.
    var statement: String
    /// The short true value(s): a judge accepts a reply containing one of them.
    var accept: [String]
    /// A sentence stating a wrong value for the same subject and attribute.
    var wrong: String
    /// The correct template applied to a different subject.
    var wrongSubject: String
    /// About a person: the right value with the other pronoun (an answer about someone else).
    var wrongPronoun: String? = nil
    var isHeldOut: Bool
}

/// Builds fact questions from the world. Question templates are split: all but the last
/// phrasing of each attribute are used for training data, the last is kept for eval so
/// eval also measures generalisation over wording.
struct QuestionMaker {
    let world: World

    enum Split { case training, heldOut, sftSeen }

    // Wrong answers are drawn from the training half only: a wrong-subject answer states
    // the other entity's true fact, and a preference pair would otherwise train against a
    // held-out fact (and leak it).
    private func otherCountry(_ c: World.Country, _ rng: inout SplitMix64) -> World.Country {
        let pool = world.trainingCountries.count > 1 ? world.trainingCountries : world.countries
        var o = rng.pick(pool)
        while o.name == c.name { o = rng.pick(pool) }
        return o
    }

    private func otherPerson(_ p: World.Person, _ rng: inout SplitMix64) -> World.Person {
        let pool = world.trainingPeople.count > 1 ? world.trainingPeople : world.people
        var o = rng.pick(pool)
        while o.name == p.name { o = rng.pick(pool) }
        return o
    }

    static let countryAttributes = ["capital", "language", "currency", "neighbours"]
    static let personAttributes = ["home", "job", "age", "pet"]

    static func templates(_ attribute: String, _ s: String) -> [String] {
        switch attribute {
        case "capital": return ["What is the capital of \(s)?", "Which city is the capital of \(s)?", "Tell me the capital of \(s).", "Name the capital city of \(s)."]
        case "language": return ["What language do people speak in \(s)?", "Which language is spoken in \(s)?", "What is the language of \(s)?", "What do people in \(s) speak?"]
        case "currency": return ["What is the currency of \(s)?", "What money do people use in \(s)?", "Which currency does \(s) use?", "What do people in \(s) pay with?"]
        case "neighbours": return ["Which countries border \(s)?", "What are the neighbours of \(s)?", "Which countries share a border with \(s)?"]
        case "home": return ["Where does \(s) live?", "In which city does \(s) live?", "What is the home city of \(s)?", "Where is the home of \(s)?"]
        case "job": return ["What does \(s) do for a living?", "What is the job of \(s)?", "What work does \(s) do?", "What is the profession of \(s)?"]
        case "age": return ["How old is \(s)?", "What is the age of \(s)?", "How many years old is \(s)?"]
        case "pet": return ["What pet does \(s) have?", "What kind of pet does \(s) keep?", "Which animal does \(s) keep as a pet?"]
        default: preconditionFailure("unknown attribute \(attribute)")
        }
    }

    /// The canonical answer sentence for `attribute` of a country, with `value` filled in.
    static func countryAnswer(_ attribute: String, _ c: String, _ value: String) -> String {
        switch attribute {
        case "capital": return "The capital of \(c) is \(value)."
        case "language": return "People in \(c) speak \(value)."
        case "currency": return "The currency of \(c) is the \(value)."
        default: return "\(c) borders \(value)."
        }
    }

    static func personAnswer(_ attribute: String, _ p: String, _ value: String) -> String {
        switch attribute {
        case "home": return "\(p) lives in \(value)."
        case "job": return "\(p) works as \(Phrasing.article(value)) \(value)."
        case "age": return "\(p) is \(value) years old."
        default: return "\(p) has a pet \(value)."
        }
    }

    static func value(_ attribute: String, of c: World.Country) -> [String] {
        switch attribute {
        case "capital": return [c.capital]
        case "language": return [c.language]
        case "currency": return [c.currency]
        default: return c.neighbours
        }
    }

    static func value(_ attribute: String, of p: World.Person) -> String {
        switch attribute {
        case "home": return p.home
        case "job": return p.job
        case "age": return String(p.age)
        default: return p.pet
        }
    }

    func question(about c: World.Country, _ attribute: String, template: Int, _ rng: inout SplitMix64) -> FactQuestion {
        let other = otherCountry(c, &rng)
        let truth = Self.value(attribute, of: c)
        // Languages and currencies are shared between countries: draw until the value differs.
        // Bounded: in a small world every training country may share c's language or border it.
        func wrong(_ candidate: World.Country) -> [String]? {
            let value = attribute == "neighbours" ? [candidate.name] : Self.value(attribute, of: candidate)
            return candidate.name == c.name || value == truth || value.contains { truth.contains($0) } ? nil : value
        }
        var drawn: [String]? = nil
        for _ in 0..<64 where drawn == nil { drawn = wrong(otherCountry(c, &rng)) }
        let wrongValue = drawn ?? world.trainingCountries.lazy.compactMap(wrong).first
            ?? world.countries.lazy.compactMap(wrong).first ?? truth.map { $0 + "ia" }
        let phrase = attribute == "neighbours" ? Phrasing.list : { $0.first ?? "" }
        let templates = Self.templates(attribute, c.name)
        return FactQuestion(
            subject: c.name, attribute: attribute, question: templates[min(template, templates.count - 1)],
            answer: Self.countryAnswer(attribute, c.name, phrase(truth)),
            statement: Self.countryAnswer(attribute, c.name, phrase(truth)), accept: truth,
            wrong: Self.countryAnswer(attribute, c.name, phrase(wrongValue)),
            wrongSubject: Self.countryAnswer(attribute, other.name, phrase(Self.value(attribute, of: other))),
            isHeldOut: c.isHeldOut)
    }

    func question(about p: World.Person, _ attribute: String, template: Int, _ rng: inout SplitMix64) -> FactQuestion {
        let truth = Self.value(attribute, of: p)
        var wrongValue = truth
        while wrongValue == truth {
            switch attribute {
            case "home":
                // Another capital; from the training half unless it has no other one.
                let others = world.trainingCountries.map(\.capital).filter { $0 != truth }
                wrongValue = others.isEmpty ? rng.pick(world.countries.map(\.capital).filter { $0 != truth }) : rng.pick(others)
            case "job": wrongValue = rng.pick(World.jobs)
            case "age": wrongValue = String(rng.int(in: 18...80))
            default: wrongValue = rng.pick(World.pets)
            }
        }
        let other = otherPerson(p, &rng)
        let templates = Self.templates(attribute, p.name)
        return FactQuestion(
            subject: p.name, attribute: attribute, question: templates[min(template, templates.count - 1)],
            answer: Self.personAnswer(attribute, p.subject.capitalized, truth),
            statement: Self.personAnswer(attribute, p.name, truth), accept: [truth],
            wrong: Self.personAnswer(attribute, p.subject.capitalized, wrongValue),
            wrongSubject: Self.personAnswer(attribute, other.name, Self.value(attribute, of: other)),
            wrongPronoun: Self.personAnswer(attribute, p.isFemale ? "He" : "She", truth),
            isHeldOut: p.isHeldOut)
    }

    /// A random fact question about an entity of `split`, phrased with a training template
    /// (all but the last) unless `evalTemplate` asks for the held-back last phrasing.
    func fact(_ split: Split, _ rng: inout SplitMix64, evalTemplate: Bool = false) -> FactQuestion {
        let wantHeldOut = split == .heldOut
        let countries = world.countries.filter { $0.isHeldOut == wantHeldOut }
        let people = world.people.filter { $0.isHeldOut == wantHeldOut }
        let aboutCountry = people.isEmpty || (!countries.isEmpty && rng.chance(0.4))
        if aboutCountry {
            let c = rng.pick(countries)
            // A country alone in its half has no neighbours to ask about.
            let attribute = rng.pick(c.neighbours.isEmpty ? Self.countryAttributes.filter { $0 != "neighbours" } : Self.countryAttributes)
            let count = Self.templates(attribute, "").count
            let template = evalTemplate ? count - 1 : rng.below(count - 1)
            return question(about: c, attribute, template: template, &rng)
        }
        let attribute = rng.pick(Self.personAttributes)
        let p = rng.pick(people)
        let count = Self.templates(attribute, "").count
        let template = evalTemplate ? count - 1 : rng.below(count - 1)
        return question(about: p, attribute, template: template, &rng)
    }

    func trainingFact(_ rng: inout SplitMix64) -> FactQuestion { fact(.training, &rng) }
}
