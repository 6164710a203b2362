#!/usr/bin/env bash
# Side-by-side data benchmarks for issue 5: Anneal vs Hugging Face tokenizers, tiktoken,
# datasketch, datatrove's Gopher filters and a plain-Python version of them, on the same
# corpora (make-corpus.sh).
# Writes JSON lines to $CORPUS_DIR/results.jsonl and prints the ratio table.
#   bash bench/data/run.sh            (THREADS=2 by default for the threaded peers)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/bench/data"
dir="${CORPUS_DIR:-/tmp/anneal-bench}"
venv="${BENCH_VENV:-/tmp/venv-anneal-bench}"
threads="${THREADS:-2}"
export RAYON_NUM_THREADS="$threads"

CORPUS_DIR="$dir" bash "$here/make-corpus.sh" >/dev/null
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c 'import tokenizers, tiktoken, datasketch' 2>/dev/null \
    || "$venv/bin/pip" install --quiet tokenizers tiktoken datasketch
if [ -z "${BENCH_BIN:-}" ]; then
    (cd "$root" && swift build -c release --product AnnealTextBench >/dev/null)
    BENCH_BIN="$(cd "$root" && swift build -c release --show-bin-path)/AnnealTextBench"
fi
bench="$BENCH_BIN"
py="$venv/bin/python"
out="$dir/results.jsonl"
: > "$out"
run() { "$@" | tee -a "$out"; }

for vocab in 4096 16384; do
    run "$bench" train "$dir/corpus.txt" "$vocab" "$dir/anneal-$vocab"
    run "$py" "$here/tokenizer_peers.py" train "$dir/corpus.txt" "$vocab" "$dir/hf-$vocab.json"
    run "$bench" encode "$dir/anneal-$vocab" "$dir/corpus.txt"
    run "$py" "$here/tokenizer_peers.py" encode "$dir/anneal-$vocab/tokenizer.json" "$dir/corpus.txt"
done
run "$bench" dedup "$dir/neardup.jsonl" "$dir/neardup-truth.json" 0.7 "$dir/anneal-pairs.json"
run "$py" "$here/dedup_peers.py" score "$dir/neardup.jsonl" "$dir/neardup-truth.json" 0.7 "$dir/anneal-pairs.json" anneal
run "$py" "$here/dedup_peers.py" datasketch "$dir/neardup.jsonl" "$dir/neardup-truth.json" 0.7 128
run "$bench" clean "$dir/docs.jsonl"
run python3 "$here/clean_peers.py" "$dir/docs.jsonl"
# datatrove itself (spaCy word splitting), every 4th document: DATATROVE=0 skips it.
if [ "${DATATROVE:-1}" = 1 ]; then
    dtv="${DATATROVE_VENV:-/tmp/venv-datatrove}"
    if [ ! -x "$dtv/bin/python" ]; then python3 -m venv "$dtv"; fi
    "$dtv/bin/python" -c 'import datatrove, spacy, regex' 2>/dev/null \
        || "$dtv/bin/pip" install --quiet "datatrove==0.10.1" spacy regex
    HF_HUB_OFFLINE=1 run "$dtv/bin/python" "$here/clean_datatrove.py" "$dir/docs.jsonl" 4
fi
python3 "$here/summary.py" "$out"
