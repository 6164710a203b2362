#!/usr/bin/env bash
# Checks `anneal export --format hf` against Hugging Face transformers (issue 9).
#  1. Models: the arguments (checkpoint directories, or STAGE.OUTPUT such as sft.model, resolved
#     from the current directory's workspace); with none, the Swift test
#     BriefTrainingTests/writesParityModels writes two into $out/models: `random` (fresh GPT-2
#     init), `trained` (a brief next-token run then masked SFT on TinyWorld) and `reward` (trained
#     plus a scalar head, with Anneal's rewards for a few pairs in rewards.json).
#  2. A venv (default under /tmp) gets torch, transformers, safetensors and tokenizers from PyPI.
#  3. For each model, `anneal export MODEL DIR --format hf`, then check_hf_export.py loads DIR with
#     AutoModelForCausalLM and AutoTokenizer and checks, for several prompts, that tokenization,
#     greedy generation (`anneal generate/chat --temperature 0`) and the logits of every
#     generated step match, and that the chat template renders as Anneal's; for a model with a
#     scalar head, that AutoModelForSequenceClassification scores rewards.json's rows the same.
# Usage: bash scripts/check_hf_export.sh [MODEL ...]
# Environment: ANNEAL_BIN (binary to test), ANNEAL_TESTS_BUILT=1 (tests already built, as
# scripts/test does), ANNEAL_BUILD_CONFIG (release, or debug while developing),
# ANNEAL_HF_EXPORT_DIR (work directory), ANNEAL_HF_EXPORT_VENV, ANNEAL_HF_EXPORT_STEPS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${ANNEAL_HF_EXPORT_DIR:-${TMPDIR:-/tmp}/anneal-hf-export-check}"
venv="${ANNEAL_HF_EXPORT_VENV:-${TMPDIR:-/tmp}/venv-anneal-hf-export}"
config="${ANNEAL_BUILD_CONFIG:-release}"
build=(-c "$config"); [ "$config" = release ] && build+=(-Xswiftc -enable-testing)
# scripts/test has built everything already; rebuilding would recompile every module.
if [ "${ANNEAL_TESTS_BUILT:-0}" != 1 ]; then (cd "$root" && swift build "${build[@]}" --build-tests); fi
bin="${ANNEAL_BIN:-$(cd "$root" && swift build "${build[@]}" --show-bin-path)/anneal}"
mkdir -p "$out"
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  rm -rf "$out/models"
  (cd "$root" && ANNEAL_HF_EXPORT_DIR="$out/models" swift test "${build[@]}" --skip-build \
      --filter 'BriefTrainingTests/writesParityModels')
  test -s "$out/models/trained/model.safetensors" || { echo "the Swift test wrote no models to $out/models" >&2; exit 1; }
  models=("$out/models/random" "$out/models/trained" "$out/models/reward")
fi
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c 'import torch, transformers, safetensors, tokenizers' 2>/dev/null \
  || "$venv/bin/pip" install --quiet torch transformers safetensors tokenizers
for model in "${models[@]}"; do
  name="$(basename "$model" | tr -c 'A-Za-z0-9_\n-' '_')"
  "$bin" export "$model" "$out/hf-$name" --format hf --force
  rewards=(); [ -f "$model/rewards.json" ] && rewards=(--rewards "$model/rewards.json")
  "$venv/bin/python" "$root/scripts/check_hf_export.py" --anneal "$bin" --model "$model" --export "$out/hf-$name" "${rewards[@]}"
done
