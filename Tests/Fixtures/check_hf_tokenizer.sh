#!/usr/bin/env bash
# Checks Anneal's tokenizer.json against Hugging Face `tokenizers` (issue 5).
#  1. The Swift test TokenizerTests/writesHuggingFaceFixture trains a tokenizer on the
#     TinyWorld corpus and writes tokenizer.json, a held-out text (another seed's world
#     plus Unicode, whitespace and special-token cases) and Anneal's ids for it into
#     $ANNEAL_HF_FIXTURE_DIR.
#  2. A venv under /tmp gets `tokenizers` from PyPI.
#  3. check_hf_tokenizer.py encodes the held-out text with tokenizers and fails on any
#     difference.
# Run from anywhere: bash Tests/Fixtures/check_hf_tokenizer.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${ANNEAL_HF_FIXTURE_DIR:-/tmp/anneal-hf-check}"
venv="${ANNEAL_HF_VENV:-/tmp/venv-anneal-hf}"
rm -rf "$out"
mkdir -p "$out"
# scripts/test has built the tests already and sets ANNEAL_TESTS_BUILT=1; rebuilding here
# would recompile every module for nothing.
skip=(); [ "${ANNEAL_TESTS_BUILT:-0}" = 1 ] && skip=(--skip-build)
(cd "$root" && ANNEAL_HF_FIXTURE_DIR="$out" swift test -c release -Xswiftc -enable-testing "${skip[@]}" \
    --filter 'TokenizerTests/writesHuggingFaceFixture')
test -s "$out/tokenizer.json" || { echo "the Swift test wrote no fixture to $out" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c 'import tokenizers' 2>/dev/null || "$venv/bin/pip" install --quiet tokenizers
"$venv/bin/python" "$root/Tests/Fixtures/check_hf_tokenizer.py" "$out"
