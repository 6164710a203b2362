"""Assembles the benchmark corpora from unpacked Debian packages (see make-corpus.sh)."""
import glob
import gzip
import json
import random
import re
import sys
from pathlib import Path

root, out = Path(sys.argv[1]), Path(sys.argv[2])
TARGET = 20_000_000


def paragraphs():
    jargon = gzip.open(root / "usr/share/doc/jargon-text/jargon.txt.gz", "rt", encoding="latin-1").read()
    yield from re.split(r"\n\s*\n", jargon)
    for path in sorted(glob.glob(str(root / "usr/share/games/fortunes/*"))):
        if path.endswith((".dat", ".u8")) or Path(path).is_dir():
            continue
        yield from Path(path).read_text(encoding="utf-8", errors="replace").split("\n%\n")
    for path in sorted(glob.glob(str(root / "usr/share/doc/python3.11/html/_sources/**/*.txt"), recursive=True)):
        yield from re.split(r"\n\s*\n", Path(path).read_text(encoding="utf-8"))
    for path in sorted(glob.glob(str(root / "usr/share/perl/*/pod/*.pod"))):
        yield from re.split(r"\n\s*\n", Path(path).read_text(encoding="utf-8", errors="replace"))


kept, size = [], 0
for p in paragraphs():
    p = p.strip("\n")
    if not p.strip():
        continue
    b = len(p.encode()) + 2
    if size + b > TARGET:
        break
    kept.append(p)
    size += b
(out / "corpus.txt").write_text("\n\n".join(kept) + "\n\n", encoding="utf-8")

# ~3 KB documents of whole paragraphs.
with open(out / "docs.jsonl", "w", encoding="utf-8") as f:
    doc = []
    for p in kept:
        doc.append(p)
        if sum(len(x) for x in doc) > 3000:
            f.write(json.dumps({"text": "\n\n".join(doc)}) + "\n")
            doc = []
    if doc:
        f.write(json.dumps({"text": "\n\n".join(doc)}) + "\n")

# 95,000 windows of 30-60 words + 5,000 near duplicates (1-5% words substituted or a
# 10% tail truncated), with their true word-5-gram Jaccard.
rng = random.Random(1234)
words = " ".join(kept).split()
docs, pos = [], 0
while len(docs) < 95_000:
    n = rng.randint(30, 60)
    if pos + n > len(words):
        pos = 0
    docs.append(words[pos:pos + n])
    pos += n


def shingles(ws):
    norm = [re.sub(r"\W+", "", w.lower()) for w in ws]
    norm = [w for w in norm if w]
    return {tuple(norm[i:i + 5]) for i in range(max(1, len(norm) - 4))}


pairs = []
vocab = words[:50_000]
for k in range(5_000):
    src = rng.randrange(95_000)
    ws = list(docs[src])
    kind = k % 4
    if kind < 3:
        for i in rng.sample(range(len(ws)), max(1, round(len(ws) * [0.01, 0.03, 0.05][kind]))):
            ws[i] = rng.choice(vocab)
    else:
        ws = ws[: max(5, int(len(ws) * 0.9))]
    a, b = shingles(docs[src]), shingles(ws)
    pairs.append({"source": src, "copy": len(docs), "kind": ["sub1", "sub3", "sub5", "trunc10"][kind],
                  "jaccard": len(a & b) / len(a | b)})
    docs.append(ws)
order = list(range(len(docs)))
rng.shuffle(order)
where = {d: i for i, d in enumerate(order)}
with open(out / "neardup.jsonl", "w", encoding="utf-8") as f:
    for d in order:
        f.write(json.dumps({"text": " ".join(docs[d])}) + "\n")
for p in pairs:
    p["source"], p["copy"] = where[p["source"]], where[p["copy"]]
(out / "neardup-truth.json").write_text(json.dumps(pairs))
print(f"corpus.txt {size / 1e6:.2f} MB, {len(kept)} paragraphs; neardup {len(docs)} docs")
