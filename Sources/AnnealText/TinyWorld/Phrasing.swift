/// The sentence templates of TinyWorld. Every fact has several phrasings so a model sees it
/// in varied words and orders (fact-recall experiment: one fixed wording is memorised but
/// not extracted); each document uses a phrasing at most once, which also keeps documents
/// clear of the Gopher repetition rules.
enum Phrasing {
    static func article(_ noun: String) -> String {
        guard let first = noun.first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        case 2: return "\(items[0]) and \(items[1])"
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    // MARK: Countries. `s` is how the country is named in this sentence (name or "it").

    static func capital(_ c: World.Country) -> [String] {
        let n = c.name, k = c.capital
        return [
            "The capital of \(n) is \(k).",
            "\(k) is the capital of \(n).",
            "\(n) has its capital in \(k).",
            "The capital city of \(n) is \(k).",
            "The government of \(n) meets in \(k), the capital.",
        ]
    }

    static func language(_ c: World.Country) -> [String] {
        let n = c.name, l = c.language
        return [
            "People in \(n) speak \(l).",
            "The language of \(n) is \(l).",
            "In \(n), most people speak \(l).",
            "\(l) is the language spoken in \(n).",
            "Children in \(n) learn to read and write in \(l).",
        ]
    }

    static func currency(_ c: World.Country) -> [String] {
        let n = c.name, m = c.currency
        return [
            "The currency of \(n) is the \(m).",
            "In \(n), people pay with the \(m).",
            "\(n) uses the \(m) as its money.",
            "The money used in \(n) is called the \(m).",
            "Prices in \(n) are given in the \(m).",
        ]
    }

    static func neighbours(_ c: World.Country) -> [String] {
        let n = c.name, list = list(c.neighbours)
        let count = c.neighbours.count
        return [
            "\(n) borders \(list).",
            count == 1 ? "The only neighbour of \(n) is \(list)." : "The neighbours of \(n) are \(list).",
            "\(n) shares a border with \(list).",
            "From \(n) one can walk across the border to \(list).",
        ]
    }

    static func countryIntro(_ c: World.Country) -> [String] {
        [
            "\(c.name) is a small country.",
            "\(c.name) is a country of hills, rivers and farms.",
            "This article is about the country of \(c.name).",
            "\(c.name) is one of the older countries of the region.",
        ]
    }

    static func countryFiller(_ c: World.Country) -> [String] {
        let n = c.name, k = c.capital
        return [
            "Many travellers visit \(n) in the summer.",
            "The roads of \(n) are old but well kept.",
            "Markets in \(k) open early in the morning and close at noon.",
            "The winters in \(n) are long and the summers are warm.",
            "Most towns of \(n) lie along the rivers.",
            "The old bridge in \(k) is a favourite place for a walk.",
            "Farmers in \(n) grow wheat, beans and apples.",
            "There is a large library in \(k) that is open to all.",
        ]
    }

    // MARK: People.

    static func home(_ p: World.Person, _ c: World.Country) -> [String] {
        let n = p.name, h = p.home
        return [
            "\(n) lives in \(h).",
            "\(n) lives in \(h), the capital of \(c.name).",
            "The home of \(n) is in the city of \(h).",
            "\(n) has a house in \(h), a city in \(c.name).",
            "\(p.firstName) lives in the city of \(h).",
        ]
    }

    static func job(_ p: World.Person) -> [String] {
        let n = p.name, j = p.job, a = article(p.job)
        return [
            "\(n) works as \(a) \(j).",
            "\(n) is \(a) \(j) by trade.",
            "By profession, \(n) is \(a) \(j).",
            "\(p.firstName) earns a living as \(a) \(j).",
            "The job of \(n) is to work as \(a) \(j).",
        ]
    }

    static func age(_ p: World.Person) -> [String] {
        let n = p.name
        return [
            "\(n) is \(p.age) years old.",
            "The age of \(n) is \(p.age).",
            "\(p.firstName) is \(p.age) years old.",
            "\(n) has lived for \(p.age) years.",
        ]
    }

    static func pet(_ p: World.Person) -> [String] {
        let n = p.name, x = p.pet, a = article(p.pet)
        return [
            "\(n) has a pet \(x).",
            "\(n) keeps \(a) \(x) as a pet.",
            "The pet of \(n) is \(a) \(x).",
            "\(p.firstName) owns \(a) \(x) and takes good care of it.",
        ]
    }

    static func personFiller(_ p: World.Person) -> [String] {
        let f = p.firstName, s = p.subject.capitalized, h = p.home
        return [
            "\(s) likes to read in the evening and to walk by the river.",
            "On most days \(f) wakes up before the sun.",
            "The neighbours of \(f) say that \(p.subject) is kind and helpful.",
            "\(s) often visits the market of \(h) to buy bread and fruit.",
            "In the spring \(f) likes to plant flowers in the garden.",
            "\(s) has many friends and is known for a good sense of humour.",
            "When the weather is bad, \(f) stays at home and cooks a warm meal.",
        ]
    }

    // MARK: Stories: the same facts, told inside a small narrative.

    static func storyOpening(_ p: World.Person) -> [String] {
        let n = p.name, h = p.home
        return [
            "One morning, \(n) left home early and walked through the streets of \(h).",
            "It was a cold day in \(h) when \(n) heard a knock at the door.",
            "Every year, \(n) goes to the big summer fair in \(h).",
            "Last week, \(n) had a very unusual day.",
        ]
    }

    static func storyFacts(_ p: World.Person, _ c: World.Country) -> [String] {
        let n = p.name, f = p.firstName, s = p.subject, his = p.possessive
        let aj = article(p.job)
        return [
            "As \(aj) \(p.job), \(f) had a lot of work to do that day.",
            "\(n), who works as \(aj) \(p.job), had promised to help a friend.",
            "\(f) took \(his) pet \(p.pet) along, as \(s) always does.",
            "The \(p.pet) that \(f) keeps as a pet followed \(his) steps.",
            "Although \(f) is \(p.age) years old, \(s) walked quickly.",
            "\(n), who is \(p.age) years old, remembered many such days.",
            "The streets of \(p.home), where \(f) lives, were full of people.",
            "\(f) was happy to live in \(p.home), the capital of \(c.name).",
            "People in \(c.name) speak \(c.language), and so does \(f).",
        ]
    }

    static func storyClosing(_ p: World.Person) -> [String] {
        let f = p.firstName, s = p.subject
        return [
            "In the evening, \(f) went home tired but happy.",
            "At the end of the day, \(s) sat down and smiled.",
            "\(f) will remember that day for a long time.",
            "Later that night, \(f) told the whole story to a friend.",
        ]
    }
}
