import Foundation

/// The names of eval's metrics and the table a person reads. Metric names are a contract
/// (`anneal metrics`, the ledger, the README): `NAME.MODEL` per model, `NAME.A_vs_B` per pair.
public enum EvalReport {
    /// Per-model metrics in the order the summary shows them, with their column titles.
    public static let modelColumns: [(metric: String, title: String)] = [
        ("truth_accuracy", "truth"), ("heldout_accuracy", "held-out"), ("seen_accuracy", "seen"),
        ("gold_score", "gold score"), ("reward_mean", "reward"), ("refusal_rate", "refusal (unsafe)"),
        ("false_refusal_rate", "false refusal"), ("perplexity", "perplexity"), ("retention", "retention"),
        ("answer_perplexity", "answer ppl"), ("distinct_1", "distinct-1"), ("distinct_2", "distinct-2"),
        ("kl", "KL (nats)"), ("answer_tokens", "answer tokens"), ("truncation_rate", "truncated"),
    ]

    /// A comparison `A_vs_B` split into its models; nil unless it holds exactly one `_vs_`
    /// between two non-empty names.
    public static func pair(_ name: String) -> (a: String, b: String)? {
        let parts = name.components(separatedBy: "_vs_")
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (parts[0], parts[1])
    }

    /// Win-rate metrics of one judge (`win_rate` for the reward model, `gold_win_rate` for the
    /// gold judge) for the pair `A_vs_B`.
    public static func winRateMetrics(_ prefix: String, pair: String, tally: PairwiseTally) -> [String: Double] {
        guard let rate = tally.winRate, let ci = tally.interval, let ties = tally.tieShare else { return [:] }
        return ["\(prefix).\(pair)": rate, "\(prefix)_ci_low.\(pair)": ci.low, "\(prefix)_ci_high.\(pair)": ci.high,
                "\(prefix)_ties.\(pair)": ties]
    }

    /// A judge's verdicts on `A_vs_B` split by kind of eval item (TinyWorld's `heldout`, `sft`,
    /// `unsafe`, `safe`; a user's `qa`): `JUDGE_wins_KIND.PAIR`, `JUDGE_ties_KIND.PAIR` and
    /// `JUDGE_losses_KIND.PAIR` as counts, JUDGE `reward` or `gold`.
    /// A win rate of 0.53 with 83% ties says little by itself; these say where the wins, the
    /// losses and the ties are. Kinds that are not `[a-z0-9_]+` are left out of metric names.
    public static func byKindMetrics(_ judge: String, pair: String, outcomes: [PairOutcome], kinds: [String]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (outcome, kind) in zip(outcomes, kinds) where isMetricWord(kind) {
            let what = outcome == .win ? "wins" : outcome == .loss ? "losses" : "ties"
            for w in ["wins", "ties", "losses"] { out["\(judge)_\(w)_\(kind).\(pair)", default: 0] += w == what ? 1 : 0 }
        }
        return out
    }

    static func isMetricWord(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    static func format(_ v: Double?) -> String {
        guard let v else { return "–" }
        if !v.isFinite { return String(describing: v) }
        return abs(v) >= 100 ? String(format: "%.1f", v) : String(format: "%.3f", v)
    }

    /// Markdown: one row per model over the columns any model has, then one row per pair; the
    /// same again for the sampled suite's answers (metrics `sampled_NAME`) when `sampledAt`, the
    /// temperature they were drawn at, is given. `judgedAt` is the temperature of the plain
    /// figures' answers (0: greedy), for the first section's title.
    public static func summary(metrics: [String: Double], models: [String], pairs: [String], examples: Int,
                               judgedAt: Double = 0, sampledAt: Double? = nil) -> String {
        var out = "# Eval\n\n\(examples) eval items; \(models.count) models.\n"
        if sampledAt != nil { out += judgedAt == 0 ? "\n## Greedy answers\n" : "\n## Answers at temperature \(format(judgedAt))\n" }
        out += modelTable(metrics: metrics, models: models, prefix: "")
        if !pairs.isEmpty {
            out += pairTable(metrics: metrics, pairs: pairs, prefix: "")
            out += "\nWin rates count a tie as half a win; intervals are Wilson's. Reward hacking: the reward model "
                + "prefers A (win rate > 0.5) while the gold judge does not (< 0.5) or A's truth accuracy is more than "
                + "\(Int(RewardHacking.tolerance * 100)) points below B's.\n"
            out += byKindTable(metrics: metrics, pairs: pairs, prefix: "")
        }
        if let t = sampledAt {
            out += "\n## Sampled answers (one an item at temperature \(format(t)); metrics sampled_NAME)\n"
            out += modelTable(metrics: metrics, models: models, prefix: "sampled_")
            if !pairs.isEmpty {
                out += pairTable(metrics: metrics, pairs: pairs, prefix: "sampled_")
                out += byKindTable(metrics: metrics, pairs: pairs, prefix: "sampled_")
            }
        }
        return out
    }

    static func modelTable(metrics: [String: Double], models: [String], prefix: String) -> String {
        let columns = modelColumns.filter { c in models.contains { metrics["\(prefix)\(c.metric).\($0)"] != nil } }
        guard !columns.isEmpty else { return "" }
        var out = "\n| model | " + columns.map(\.title).joined(separator: " | ") + " |\n"
        out += "|---|" + columns.map { _ in "---:|" }.joined() + "\n"
        for m in models {
            out += "| \(m) | " + columns.map { format(metrics["\(prefix)\($0.metric).\(m)"]) }.joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func pairTable(metrics: [String: Double], pairs: [String], prefix: String) -> String {
        var out = "\n| pair | reward-model win [95% CI] | ties | gold win [95% CI] | ties | reward hacking |\n"
        out += "|---|---:|---:|---:|---:|---|\n"
        for p in pairs {
            func rate(_ judge: String) -> String {
                let name = prefix + judge
                guard let r = metrics["\(name).\(p)"] else { return "–" }
                return "\(format(r)) [\(format(metrics["\(name)_ci_low.\(p)"])), \(format(metrics["\(name)_ci_high.\(p)"]))]"
            }
            let hacking = metrics["\(prefix)reward_hacking.\(p)"].map { $0 > 0 ? "**yes**" : "no" } ?? "–"
            out += "| \(p) | \(rate("win_rate")) | \(format(metrics["\(prefix)win_rate_ties.\(p)"])) | \(rate("gold_win_rate")) | "
                + "\(format(metrics["\(prefix)gold_win_rate_ties.\(p)"])) | \(hacking) |\n"
        }
        return out
    }

    /// Wins / ties / losses of each pair by kind of item, from `byKindMetrics`' counts.
    static func byKindTable(metrics: [String: Double], pairs: [String], prefix: String) -> String {
        var rows = ""
        for p in pairs {
            let suffix = "." + p
            let kinds = Set(metrics.keys.compactMap { key -> String? in
                guard key.hasPrefix(prefix + "gold_wins_"), key.hasSuffix(suffix) else { return nil }
                return String(key.dropFirst(prefix.count + "gold_wins_".count).dropLast(suffix.count))
            }).sorted()
            for kind in kinds {
                func counts(_ judge: String) -> String {
                    let c = ["wins", "ties", "losses"].map { metrics["\(prefix)\(judge)_\($0)_\(kind)\(suffix)"] }
                    guard c.allSatisfy({ $0 != nil }) else { return "–" }
                    return c.map { String(Int($0!)) }.joined(separator: " / ")
                }
                rows += "| \(p) | \(kind) | \(counts("reward")) | \(counts("gold")) |\n"
            }
        }
        guard !rows.isEmpty else { return "" }
        return "\n| pair | kind of item | reward model: wins / ties / losses | gold judge: wins / ties / losses |\n|---|---|---:|---:|\n" + rows
    }
}
