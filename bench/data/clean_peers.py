"""The Gopher quality and repetition rules in plain Python, with datatrove's thresholds
and Anneal's word definition (whitespace-separated; words without a letter or digit are
symbols), written from the rule list for the benchmark (bench/data/run.sh).

  python clean_peers.py DOCS_JSONL
"""
import json
import re
import resource
import sys
import time
from collections import Counter

STOP = {"the", "be", "to", "of", "and", "that", "have", "with"}


def dup_stats(elements):
    seen, n, chars = set(), 0, 0
    for e in elements:
        if e in seen:
            n += 1
            chars += len(e)
        else:
            seen.add(e)
    return n, chars


def top_ngram_chars(words, n):
    grams = Counter(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    if not grams:
        return 0
    gram, count = grams.most_common(1)[0]
    return len(gram) * count


def dup_ngram_chars(words, n):
    seen, chars, i = set(), 0, 0
    while i <= len(words) - n:
        gram = "".join(words[i:i + n])
        if gram in seen:
            chars += len(gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


def repetition(text):
    total = max(1, len(text))
    paragraphs = re.split(r"\n{2,}", text.strip())
    n, c = dup_stats(paragraphs)
    if n / max(1, len(paragraphs)) > 0.3 or c / total > 0.2:
        return "dup_paragraphs"
    lines = [l for l in re.split(r"\n+", text) if l]
    n, c = dup_stats(lines)
    if n / max(1, len(lines)) > 0.3 or c / total > 0.2:
        return "dup_lines"
    words = text.split()
    for n, limit in ((2, 0.20), (3, 0.18), (4, 0.16)):
        if len(words) >= n and top_ngram_chars(words, n) / total > limit:
            return "top_ngrams"
    for n, limit in ((5, .15), (6, .14), (7, .13), (8, .12), (9, .11), (10, .10)):
        if len(words) >= n and dup_ngram_chars(words, n) / total > limit:
            return "dup_ngrams"
    return None


def quality(text):
    words = text.split()
    content = [w for w in words if any(ch.isalnum() for ch in w)]
    if not 50 <= len(content) <= 100_000:
        return "word_count"
    mean = sum(len(w) for w in content) / len(content)
    if not 3 <= mean <= 10:
        return "mean_word_length"
    n = max(1, len(words))
    if text.count("#") / n > 0.1 or (text.count("...") + text.count("…")) / n > 0.1:
        return "symbols"
    lines = text.splitlines() or [""]
    if sum(l.lstrip().startswith(("•", "-")) for l in lines) / len(lines) > 0.9:
        return "bullets"
    if sum(l.rstrip().endswith(("...", "…")) for l in lines) / len(lines) > 0.3:
        return "ellipsis"
    if sum(any(ch.isalpha() for ch in w) for w in words) / n < 0.8:
        return "alphabetic"
    if sum(re.sub(r"\W", "", w.lower()) in STOP for w in words) < 2:
        return "stop_words"
    return None


def main():
    docs = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
    size = sum(len(d.encode()) for d in docs)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    kept = sum(1 for d in docs if repetition(d) is None and quality(d) is None)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    used = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(json.dumps(dict(what="python_gopher", docs=len(docs), seconds=wall, cpu_seconds=used,
                          docs_per_s=len(docs) / wall, mb_per_s=size / 1e6 / wall, kept=kept), sort_keys=True))


if __name__ == "__main__":
    main()
