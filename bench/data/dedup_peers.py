"""datasketch MinHash + LSH on neardup.jsonl, and the scoring of any tool's duplicate pairs
(bench/data/run.sh).

  python dedup_peers.py datasketch NEARDUP TRUTH THRESHOLD PERMS
  python dedup_peers.py score NEARDUP TRUTH THRESHOLD PAIRS_JSON NAME

Shingles: word 5-grams of the lower-cased \\w+ words (datasketch side). Scoring counts a
predicted pair correct when it was planted or its true 5-gram Jaccard is at least the
threshold (natural duplicates in the source text are duplicates too).
"""
import json
import re
import resource
import sys
import time


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load(path):
    return [json.loads(line)["text"] for line in open(path, encoding="utf-8")]


def shingles(text):
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + 5]) for i in range(max(1, len(words) - 4))}


def score(docs, truth, threshold, pairs, name, extra):
    """Both tools are scored the same way: their pairs are closed into clusters (union-find),
    each cluster keeps its first document, a planted pair is found when both documents are
    in one cluster, and precision is over (kept, dropped) pairs."""
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    planted = {(min(p["source"], p["copy"]), max(p["source"], p["copy"])): p["jaccard"] for p in truth}
    members = {x for pair in pairs for x in pair}
    predicted = [(find(x), x) for x in members if find(x) != x]
    same = lambda a, b: find(a) == find(b)
    found = [k for k in planted if same(*k)]
    high = [k for k, j in planted.items() if j >= threshold]
    correct = 0
    for a, b in predicted:
        key = (min(a, b), max(a, b))
        if key in planted:
            correct += 1
            continue
        x, y = shingles(docs[a]), shingles(docs[b])
        if len(x & y) / max(1, len(x | y)) >= threshold:
            correct += 1
    print(json.dumps(dict(what=name + "_quality", dropped=len(predicted),
                          recall_all=len(found) / len(planted),
                          recall_above_threshold=sum(1 for k in high if same(*k)) / max(1, len(high)),
                          precision=correct / max(1, len(predicted)), **extra), sort_keys=True), flush=True)


def datasketch_run(path, truth_path, threshold, perms):
    from datasketch import MinHash, MinHashLSH
    docs = load(path)
    size = sum(len(d.encode()) for d in docs)
    c, t = cpu(), time.perf_counter()
    sets = [[s.encode() for s in shingles(d)] for d in docs]
    sigs = MinHash.bulk(sets, num_perm=perms)
    lsh = MinHashLSH(threshold=threshold, num_perm=perms)
    for i, m in enumerate(sigs):
        lsh.insert(i, m)
    pairs = []
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j < i and sigs[j].jaccard(m) >= threshold:
                pairs.append((j, i))
    wall, used = time.perf_counter() - t, cpu() - c
    b, r = lsh.b, lsh.r
    print(json.dumps(dict(what="datasketch_dedup", docs=len(docs), seconds=wall, cpu_seconds=used,
                          docs_per_s=len(docs) / wall, mb_per_s=size / 1e6 / wall, bands=b, rows=r,
                          permutations=perms, threshold=threshold), sort_keys=True), flush=True)
    score(docs, json.load(open(truth_path)), threshold, pairs, "datasketch", dict(bands=b, rows=r))


if __name__ == "__main__":
    if sys.argv[1] == "datasketch":
        datasketch_run(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    else:
        docs = load(sys.argv[2])
        score(docs, json.load(open(sys.argv[3])), float(sys.argv[4]), json.load(open(sys.argv[5])), sys.argv[6], {})
