/// SFT pairs, preference pairs, PPO prompts and eval questions. Only non-held-out entities
/// appear in the first three; eval asks about both halves.
extension TinyWorld {
    static func arithmeticQuestion(_ rng: inout SplitMix64) -> (String, String) {
        let a = rng.int(in: 2...20), b = rng.int(in: 2...20)
        if rng.chance(0.5) {
            return (rng.pick(["What is \(a) plus \(b)?", "How much is \(a) plus \(b)?"]), "\(a) plus \(b) is \(a + b).")
        }
        let x = rng.int(in: 2...9), y = rng.int(in: 2...9)
        return (rng.pick(["What is \(x) times \(y)?", "How much is \(x) times \(y)?"]), "\(x) times \(y) is \(x * y).")
    }

    /// SFT demonstrations, written as by demonstrators of uneven quality (InstructGPT's and
    /// `research/ppo-feasibility.md`'s setting): fact answers are right, but half close with a
    /// pleasantry that makes them too long and some are rude; some unsafe requests are complied
    /// with and some harmless look-alikes refused (`Demonstrators`). The preference data says
    /// which of these is better; teaching that is what `reward`, `ppo` and `dpo` are for.
    static func makeSFT(_ world: World, _ asker: QuestionMaker, _ config: TinyWorldConfig, _ rng: inout SplitMix64) -> [ChatPair] {
        (0..<config.sftPairs).map { _ in
            let roll = rng.unit()
            if roll < config.unsafeShare {
                let request = Safety.unsafeRequests(world, &rng)
                let reply = rng.chance(Demonstrators.unsafeRefused) ? rng.pick(Safety.refusals) : rng.pick(Safety.compliance)
                return ChatPair(user: request, assistant: reply, kind: "unsafe")
            } else if roll < config.unsafeShare + Demonstrators.safeShare {
                let (q, a) = Safety.safeRequest(world, &rng)
                let reply = rng.chance(Demonstrators.safeRefused) ? rng.pick(Safety.refusals) : a
                return ChatPair(user: q, assistant: reply, kind: "safe")
            } else if roll < config.unsafeShare + Demonstrators.safeShare + 0.1 {
                let (q, a) = arithmeticQuestion(&rng)
                return ChatPair(user: q, assistant: a, kind: "arithmetic")
            }
            let fact = asker.trainingFact(&rng)
            return ChatPair(user: fact.question, assistant: Demonstrators.answer(fact, &rng), kind: "fact")
        }
    }

    /// Rejections cycle through every kind so a reward model cannot win on form alone:
    /// off-topic and wrong-subject answers are polite and well formed but answer another
    /// question (`research/ppo-feasibility.md`, pitfall 1); a wrong pronoun answers about
    /// someone else (for a country fact it is a wrong value instead).
    static let factRejections = ["wrong", "rude", "rambling", "padded", "off_topic", "wrong_subject", "false_refusal", "wrong_pronoun"]

    /// Preferences cover every decision the assistant makes: facts (right value, right subject,
    /// concise and polite), unsafe requests (a refusal over compliance or a polite fact) and
    /// harmless look-alikes of them (an answer on topic over a refusal, advice about something
    /// else, or the same advice about another pet or language than the one asked about).
    static func makePreferences(_ world: World, _ asker: QuestionMaker, _ config: TinyWorldConfig, _ rng: inout SplitMix64) -> [PreferencePair] {
        var pairs: [PreferencePair] = []
        var next = 0
        for _ in 0..<config.preferencePairs {
            let roll = rng.unit()
            if roll < config.unsafeShare {
                let prompt = Safety.unsafeRequests(world, &rng)
                let refusal = rng.pick(Safety.refusals)
                if rng.chance(0.6) {
                    pairs.append(.init(prompt: prompt, chosen: refusal, rejected: rng.pick(Safety.compliance), kind: "unsafe_compliance"))
                } else {
                    let offTopic = asker.trainingFact(&rng).answer
                    pairs.append(.init(prompt: prompt, chosen: refusal, rejected: offTopic, kind: "unsafe_off_topic"))
                }
                continue
            }
            if roll < config.unsafeShare + Demonstrators.preferenceSafeShare {
                let request = Safety.safeRequestNaming(world, &rng)
                let (q, a) = (request.question, request.answer)
                let pick = rng.unit()
                if pick < 0.5, let misread = request.misread(&rng) {
                    pairs.append(.init(prompt: q, chosen: a, rejected: misread, kind: "safe_wrong_subject"))
                } else if pick < 0.8 {
                    pairs.append(.init(prompt: q, chosen: a, rejected: rng.pick(Safety.refusals), kind: "safe_refusal"))
                } else {
                    var other = Safety.safeRequest(world, &rng)
                    while other.1 == a { other = Safety.safeRequest(world, &rng) }
                    pairs.append(.init(prompt: q, chosen: a, rejected: other.1, kind: "safe_off_topic"))
                }
                continue
            }
            let fact = asker.trainingFact(&rng)
            var kind = factRejections[next % factRejections.count]
            next += 1
            if kind == "wrong_pronoun" && fact.wrongPronoun == nil { kind = "wrong" }
            let rejected: String
            switch kind {
            case "wrong": rejected = fact.wrong
            case "rude": rejected = AnswerStyle.rude(fact.answer, &rng)
            case "rambling": rejected = AnswerStyle.rambling(fact.answer, &rng)
            case "padded": rejected = AnswerStyle.padded(fact.answer, &rng)
            case "off_topic":
                var other = asker.trainingFact(&rng)
                // Pronoun answers of two people can read the same ("He has a pet owl.").
                while other.subject == fact.subject || other.answer == fact.answer { other = asker.trainingFact(&rng) }
                rejected = other.answer
            case "wrong_subject": rejected = fact.wrongSubject
            case "wrong_pronoun": rejected = fact.wrongPronoun!
            default: rejected = rng.pick(Safety.refusals)
            }
            pairs.append(.init(prompt: fact.question, chosen: fact.answer, rejected: rejected, kind: kind))
        }
        return pairs
    }

    /// PPO prompts ask for every decision the preferences cover: facts, arithmetic, unsafe
    /// requests and their harmless look-alikes.
    static func makePrompts(_ world: World, _ asker: QuestionMaker, _ config: TinyWorldConfig, _ rng: inout SplitMix64) -> [PolicyPrompt] {
        (0..<config.ppoPrompts).map { _ in
            let roll = rng.unit()
            if roll < config.unsafeShare {
                // Any of the refusals, as the demonstrations have them: PPO-ptx pulls toward
                // this answer, and one fixed refusal pulled every refusal onto the phrasing
                // the reward model liked least (docs/alignment.md, fourth pass).
                let request = Safety.unsafeRequests(world, &rng)
                return PolicyPrompt(prompt: request, kind: "unsafe", answer: rng.pick(Safety.refusals))
            }
            if roll < config.unsafeShare + Demonstrators.preferenceSafeShare {
                let (q, a) = Safety.safeRequest(world, &rng)
                return PolicyPrompt(prompt: q, kind: "safe", answer: a)
            }
            if roll < config.unsafeShare + Demonstrators.safeShare + 0.08 {
                let (q, a) = arithmeticQuestion(&rng)
                return PolicyPrompt(prompt: q, kind: "arithmetic", answer: a)
            }
            let fact = asker.trainingFact(&rng)
            return PolicyPrompt(prompt: fact.question, kind: "fact", answer: fact.answer)
        }
    }

    /// Every fact of every held-out entity once; every fact of every training entity once
    /// (training phrasings, as SFT saw them; at least 20); and 40 unsafe and 40 safe requests,
    /// scaled down for tiny worlds.
    static func makeEval(_ world: World, _ asker: QuestionMaker, _ config: TinyWorldConfig, _ rng: inout SplitMix64) -> [EvalItem] {
        var items: [EvalItem] = []
        func add(_ f: FactQuestion, _ kind: String) {
            items.append(EvalItem(id: "", kind: kind, question: f.question, answer: f.answer, accept: f.accept,
                                  expect: "answer", subject: f.subject, attribute: f.attribute))
        }
        func template(_ attribute: String) -> Int { rng.below(QuestionMaker.templates(attribute, "").count - 1) }
        for c in world.countries where c.isHeldOut {
            for a in QuestionMaker.countryAttributes where a != "neighbours" || !c.neighbours.isEmpty { add(asker.question(about: c, a, template: template(a), &rng), "heldout") }
        }
        for p in world.people where p.isHeldOut {
            for a in QuestionMaker.personAttributes { add(asker.question(about: p, a, template: template(a), &rng), "heldout") }
        }
        let heldOutCount = items.count
        // The seen half mirrors the held-out half: every fact of every training entity once, in
        // a training phrasing, so `seen` and `heldout` differ in what SFT saw, not in their mix
        // of attributes (a random draw of 128 gave 18 neighbour questions, the hardest kind, or 11).
        for c in world.countries where !c.isHeldOut {
            for a in QuestionMaker.countryAttributes where a != "neighbours" || !c.neighbours.isEmpty { add(asker.question(about: c, a, template: template(a), &rng), "sft") }
        }
        for p in world.people where !p.isHeldOut {
            for a in QuestionMaker.personAttributes { add(asker.question(about: p, a, template: template(a), &rng), "sft") }
        }
        while items.count - heldOutCount < 20 { add(asker.fact(.sftSeen, &rng), "sft") }
        let safetyCount = min(40, max(4, heldOutCount / 4))
        for _ in 0..<safetyCount {
            items.append(EvalItem(id: "", kind: "unsafe", question: Safety.unsafeRequests(world, &rng),
                                  answer: Safety.refusals[0], accept: [], expect: "refuse", subject: "", attribute: "safety"))
            let (q, a) = Safety.safeRequest(world, &rng)
            items.append(EvalItem(id: "", kind: "safe", question: q, answer: a, accept: [], expect: "answer",
                                  subject: "", attribute: "safety"))
        }
        for i in items.indices { items[i].id = "q\(i + 1)" }
        return items
    }
}
