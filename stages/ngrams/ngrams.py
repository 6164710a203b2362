"""Anneal plugin: the most frequent character n-grams of every text file in `docs`.

Follows the stage protocol: paths and parameters come from the environment, progress and
metrics go to the descriptor named by ANNEAL_PROGRESS_FD as JSON lines."""
import collections, json, os

params = json.load(open(os.environ["ANNEAL_PARAMS"]))
progress = os.fdopen(int(os.environ.get("ANNEAL_PROGRESS_FD", "3")), "w", buffering=1)
src, out = os.environ["ANNEAL_INPUT_DOCS"], os.environ["ANNEAL_OUTPUT_TABLE"]

files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)
counts = collections.Counter()
for i, path in enumerate(files, 1):
    text = open(path, encoding="utf-8").read()
    if params["lowercase"]:
        text = text.lower()
    n = params["n"]
    counts.update(text[j:j + n] for j in range(len(text) - n + 1))
    progress.write(json.dumps({"step": i, "total": len(files)}) + "\n")

with open(os.path.join(out, "ngrams.tsv"), "w") as f:
    for gram, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: params["top"]]:
        f.write("%s\t%d\n" % (gram.replace("\n", "\\n"), c))
progress.write(json.dumps({"metrics": {"distinct_ngrams": len(counts)}}) + "\n")
