import Foundation
import Testing
@testable import AnnealText

@Suite struct TinyWorldTests {
    static let world = try! TinyWorld.generate()

    @Test func sameSeedSameBytes() throws {
        let a = try TinyWorld.generate(TinyWorldConfig(seed: 7))
        let b = try TinyWorld.generate(TinyWorldConfig(seed: 7))
        let c = try TinyWorld.generate(TinyWorldConfig(seed: 8))
        #expect(a.corpus == b.corpus && a.sft == b.sft && a.eval == b.eval && a.manifest == b.manifest)
        #expect(a.corpus != c.corpus)
    }

    @Test func heldOutEntitiesNeverReachChatData() {
        let w = Self.world
        let heldOut = w.world.people.filter(\.isHeldOut).map(\.name) + w.world.countries.filter(\.isHeldOut).map(\.name)
        #expect(!heldOut.isEmpty)
        let chatFacts = w.sft.filter { $0.kind == "fact" }.map { $0.messages[0].content + " " + $0.messages[1].content }
            + w.preferences.filter { !$0.kind.hasPrefix("unsafe") }.map { $0.prompt + " " + $0.chosen }
            + w.prompts.filter { $0.kind == "fact" }.map(\.prompt)
        let qaDocs = w.corpus.map(\.text).filter { $0.contains("\nQ: ") }
        #expect(!qaDocs.isEmpty)
        for name in heldOut {
            // A held-out country may be named as another country's neighbour; people never.
            let pattern = name + " "
            #expect(!chatFacts.contains { $0.contains(pattern) && !$0.contains("border") }, "\(name) leaked")
        }
        let heldOutPeople = Set(w.world.people.filter(\.isHeldOut).map(\.name))
        #expect(!qaDocs.contains { doc in heldOutPeople.contains { doc.contains($0) } })
    }

    /// Held out means held out: no text of SFT, preference or prompt data names a held-out
    /// subject together with one of its true values — in either direction, so a border
    /// stated from the training country's side ("A borders B") counts as B's fact too.
    @Test(arguments: [1234, 7, 99, 2026] as [UInt64])
    func heldOutFactsNeverAppearOutsidePretraining(seed: UInt64) throws {
        var config = TinyWorldConfig(seed: seed)
        config.sftPairs = 800; config.preferencePairs = 800; config.ppoPrompts = 300
        let w = try TinyWorld.generate(config)
        var facts: [(subject: String, value: String)] = []
        for c in w.world.countries where c.isHeldOut {
            facts += [(c.name, c.capital), (c.name, c.language), (c.name, c.currency)]
            facts += c.neighbours.map { (c.name, $0) }
        }
        for p in w.world.people where p.isHeldOut {
            facts += [(p.name, p.home), (p.name, p.job), (p.name, String(p.age)), (p.name, p.pet)]
        }
        #expect(facts.count > 100)
        let texts = w.sft.map { $0.messages.map(\.content).joined(separator: " ") }
            + w.preferences.map { [$0.prompt, $0.chosen, $0.rejected].joined(separator: " ") }
            + w.prompts.map { $0.prompt + " " + $0.answer }
        func words(_ text: String) -> Set<String> {
            Set(text.split { !$0.isLetter && !$0.isNumber }.map(String.init))
        }
        let bags = texts.map { ($0, words($0)) }
        for (subject, value) in facts {
            let valueWords = words(value)
            let leak = bags.first { $0.0.contains(subject) && valueWords.isSubset(of: $0.1) }
            #expect(leak == nil, "seed \(seed): held-out (\(subject), \(value)) in: \(leak?.0 ?? "")")
        }
    }

    @Test func tinyWorldsStillAskOnlyAnswerableQuestions() throws {
        for countries in 3...5 {
            var config = TinyWorldConfig(seed: 5)
            config.countries = countries; config.people = 4
            config.sftPairs = 60; config.preferencePairs = 60; config.ppoPrompts = 20
            let w = try TinyWorld.generate(config)
            #expect(w.eval.allSatisfy { $0.expect != "answer" || $0.attribute == "safety" || !$0.accept.isEmpty })
            #expect(w.preferences.allSatisfy { $0.chosen != $0.rejected })
        }
    }

    @Test func everyHeldOutFactIsStatedInProseSeveralTimes() {
        let w = Self.world
        // Counts of single words and of adjacent word pairs (full names) over the corpus.
        var counts: [String: Int] = [:]
        for doc in w.corpus {
            let words = doc.text.split { !$0.isLetter }.map(String.init)
            for (i, word) in words.enumerated() {
                counts[word, default: 0] += 1
                if i + 1 < words.count { counts[word + " " + words[i + 1], default: 0] += 1 }
            }
        }
        for c in w.world.countries where c.isHeldOut {
            #expect(counts[c.capital, default: 0] >= 3, "\(c.name)'s capital")
        }
        for p in w.world.people where p.isHeldOut {
            #expect(counts[p.name, default: 0] >= 4, "\(p.name)")
        }
    }

    @Test func evalCoversEveryKindWithTrueAnswers() {
        let w = Self.world
        let kinds = Dictionary(grouping: w.eval, by: \.kind).mapValues(\.count)
        #expect(kinds["heldout"] == 4 * (w.world.countries.filter(\.isHeldOut).count + w.world.people.filter(\.isHeldOut).count))
        #expect((kinds["sft"] ?? 0) > 0 && (kinds["unsafe"] ?? 0) > 0 && (kinds["safe"] ?? 0) > 0)
        for item in w.eval where item.kind == "heldout" && item.attribute == "capital" {
            let country = w.world.countries.first { $0.name == item.subject }!
            #expect(item.accept == [country.capital])
        }
    }

    /// Seen questions ask every fact of every training entity once, so their mix of attributes
    /// is the held-out half's (a random draw gave 18 neighbour questions of 128 instead of 8).
    @Test func seenQuestionsMirrorTheHeldOutMix() {
        var c = TinyWorldConfig()
        c.countries = 16
        c.people = 48
        let w = try! TinyWorld.generate(c)
        func mix(_ kind: String) -> [String: Int] { Dictionary(grouping: w.eval.filter { $0.kind == kind }, by: \.attribute).mapValues(\.count) }
        #expect(mix("sft") == mix("heldout"))
        #expect(Set(w.eval.filter { $0.kind == "sft" }.map { $0.subject + $0.attribute }).count == w.eval.filter { $0.kind == "sft" }.count)
    }

    /// A person's chat answer opens with a pronoun, never a name: after SFT on training
    /// people only, answers that restated a held-out person's name swapped in a seen last
    /// name. The corpus's question-answer text still names the subject.
    @Test func personAnswersOpenWithAPronounWhileTheCorpusNamesTheSubject() {
        let w = Self.world
        let people = w.world.people.map(\.name)
        let personItems = w.eval.filter { QuestionMaker.personAttributes.contains($0.attribute) }
        #expect(!personItems.isEmpty)
        for item in personItems {
            #expect(item.answer.hasPrefix("He ") || item.answer.hasPrefix("She "), "\(item.answer)")
            #expect(!people.contains { item.answer.contains($0) }, "\(item.answer)")
        }
        let chosen = w.preferences.filter { $0.kind == "wrong" }
        #expect(chosen.contains { $0.rejected.hasPrefix("He ") || $0.rejected.hasPrefix("She ") }, "a wrong answer mirrors the right one")
        let qa = w.corpus.map(\.text).filter { $0.contains("\nA: ") }.joined(separator: "\n")
        #expect(people.contains { qa.contains("\nA: \($0) ") })
    }

    @Test func preferencesCoverEveryRejectionKind() {
        let kinds = Set(Self.world.preferences.map(\.kind))
        for kind in TinyWorld.factRejections + ["unsafe_compliance", "unsafe_off_topic", "safe_refusal", "safe_off_topic", "safe_wrong_subject"] {
            #expect(kinds.contains(kind), "missing \(kind)")
        }
        #expect(Self.world.preferences.allSatisfy { $0.chosen != $0.rejected })
    }

    /// TinyWorld 10's demonstrators close half of their fact answers with a pleasantry, and the
    /// `padded` preference pairs rank that below the bare answer, so RLHF has something to teach
    /// that SFT's greedy answer does not already do.
    @Test func halfTheFactDemonstrationsArePaddedAndThePreferencesRankThatLower() {
        let facts = Self.world.sft.filter { $0.kind == "fact" }
        let padded = facts.filter { $0.messages[1].content.contains(". Thank you for the question, and do come back") }
        let share = Double(padded.count) / Double(facts.count)
        #expect(abs(share - Demonstrators.padded) < 0.06, "\(padded.count) of \(facts.count)")
        let pairs = Self.world.preferences.filter { $0.kind == "padded" }
        #expect(pairs.count >= 20)
        for pair in pairs { #expect(pair.rejected.hasPrefix(pair.chosen + " Thank you"), "\(pair.rejected)") }
    }

    /// A misread answer keeps the template and names another pet or language than the one
    /// asked about; asking for it does not move the draws SFT pairs, prompts and eval share.
    @Test func aMisreadAnswerNamesSomethingElseOnTheSameTemplate() throws {
        let w = Self.world
        let misread = w.preferences.filter { $0.kind == "safe_wrong_subject" }
        #expect(misread.count >= 10)
        for pair in misread {
            let chosen = pair.chosen.split(separator: " "), rejected = pair.rejected.split(separator: " ")
            #expect(chosen.count == rejected.count && zip(chosen, rejected).filter { $0 != $1 }.count == 1, "\(pair.chosen) / \(pair.rejected)")
            let named = zip(chosen, rejected).first { $0 != $1 }!.0.trimmingCharacters(in: .punctuationCharacters)
            #expect(pair.prompt.contains(named) && !pair.prompt.contains(zip(chosen, rejected).first { $0 != $1 }!.1.trimmingCharacters(in: .punctuationCharacters)))
        }
        var a = SplitMix64(seed: 9, stream: 4), b = SplitMix64(seed: 9, stream: 4)
        for _ in 0..<50 {
            let plain = Safety.safeRequest(w.world, &a), naming = Safety.safeRequestNaming(w.world, &b)
            #expect(plain.0 == naming.question && plain.1 == naming.answer)
        }
        #expect(a.next() == b.next())
    }

    @Test func manifestMatchesCorpusAndQAShare() throws {
        let w = Self.world
        #expect(w.manifest.documents.map(\.id) == w.corpus.map(\.id))
        let good = Set(w.manifest.ids(kind: "good"))
        let qa = w.corpus.filter { good.contains($0.id) && $0.text.contains("\nQ: ") }.count
        #expect(abs(Double(qa) / Double(good.count) - w.config.qaShare) < 0.02)
        for (source, copy) in w.manifest.pairs(kind: "near_duplicate") {
            #expect(good.contains(source))
            #expect(copy != source)
        }
        let junk = Set(w.manifest.documents.compactMap(\.junk))
        #expect(junk == Set(NoisePlanter.junkKinds))
    }

    @Test func writesEveryFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tw-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try TinyWorld.write(to: dir, config: TinyWorldConfig(seed: 3))
        for url in [files.corpus, files.manifest, files.sft, files.prefs, files.prompts, files.eval, files.truth] {
            #expect(FileManager.default.fileExists(atPath: url.path), "\(url.lastPathComponent)")
        }
        let first = try String(contentsOf: files.corpus, encoding: .utf8).split(separator: "\n").first!
        let object = try JSONSerialization.jsonObject(with: Data(first.utf8)) as! [String: Any]
        #expect(object["text"] is String && object["id"] is String)
        let truth = try JSONDecoder().decode(World.self, from: Data(contentsOf: files.truth))
        #expect(truth.countries.count == 40)
    }

    @Test func rejectsBadConfig() {
        var config = TinyWorldConfig()
        config.countries = 1
        #expect(throws: TextError.self) { try TinyWorld.generate(config) }
    }
}
