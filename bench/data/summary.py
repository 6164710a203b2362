"""Prints Anneal-vs-peer ratios from results.jsonl (bench/data/run.sh)."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]


def pick(what, **match):
    for r in rows:
        if r["what"] == what and all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def line(label, ours, theirs, key, higher_is_better=True):
    if not ours or not theirs:
        print(f"{label:58} missing")
        return
    a, b = ours[key], theirs[key]
    ratio = a / b if higher_is_better else b / a
    cpu = ""
    if "cpu_seconds" in ours and "cpu_seconds" in theirs and ours["cpu_seconds"] > 0:
        # CPU seconds per document (runs may cover different numbers of documents).
        per = lambda r: r["cpu_seconds"] / r.get("docs", 1)
        cpu = f"   by CPU time {per(theirs) / per(ours):.1f}x"
    print(f"{label:58} {a:10.3f} vs {b:10.3f}  -> {ratio:5.1f}x{cpu}")


for v in (4096, 16384):
    line(f"BPE training s, vocab {v} (Anneal vs HF)", pick("anneal_bpe_train", vocab=v), pick("hf_bpe_train", vocab=v),
         "seconds", higher_is_better=False)
    line(f"encode MB/s 1 thread, vocab {v} (Anneal vs tiktoken)", pick("anneal_encode", vocab=v, threads=1),
         pick("tiktoken_encode_ordinary", vocab=v), "mb_per_s")
    line(f"encode MB/s, vocab {v} (Anneal 1 thread vs HF encode_batch)", pick("anneal_encode", vocab=v, threads=1),
         pick("hf_encode_batch", vocab=v), "mb_per_s")
    t = pick("tiktoken_encode_ordinary", vocab=v)
    a, h = pick("anneal_encode", vocab=v, threads=1), pick("hf_encode_batch", vocab=v)
    if t and a and h:
        print(f"{'':58} tokens: anneal {a['tokens']}, HF {h['tokens']}, tiktoken {t['tokens']}, "
              f"tiktoken==HF on {t['identical_to_hf']}/{t['paragraphs']} paragraphs")
line("MinHash dedup docs/s (Anneal vs datasketch)", pick("anneal_dedup"), pick("datasketch_dedup"), "docs_per_s")
for name in ("anneal", "datasketch"):
    q = pick(name + "_quality")
    if q:
        print(f"{'  ' + name + ' quality':58} recall(all) {q['recall_all']:.3f}  recall(J>=t) {q['recall_above_threshold']:.3f}"
              f"  precision {q['precision']:.3f}  dropped {q['dropped']}")
line("clean docs/s, Gopher rules (Anneal 1 thread vs Python)", pick("anneal_clean_gopher"), pick("python_gopher"), "docs_per_s")
a, p = pick("anneal_clean_gopher"), pick("python_gopher")
if a and p:
    print(f"{'':58} kept: anneal {a['kept']}, python {p['kept']} of {a['docs']}")
line("clean docs/s, Gopher rules (Anneal 1 thread vs datatrove)", pick("anneal_clean_gopher"), pick("datatrove_gopher"), "docs_per_s")
d = pick("datatrove_gopher")
if d:
    print(f"{'':58} datatrove kept {d['kept']} of every {d['every']}th document ({d['docs']}): spaCy tokens as words")
