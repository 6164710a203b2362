#!/usr/bin/env bash
# Data-parallel pretrain (`tasks: 2`) against one process, side by side on this machine.
#
#   bench/slurm/data-parallel.sh [STEPS]     (default 200; needs Open MPI: SLURM_MPI=1 scripts/slurm-up)
#
# tinychat's pretrain (4 layers × 192, context 128, batches of 8 sequences, its data: world,
# clean, dedup, tokenize of pipelines/tinychat.yaml) for STEPS steps, in one cache, three ways
# with the local executor and --jobs 2:
#   1 task × 1 thread,  1 task × 2 threads,  2 tasks × 1 thread (mpirun, MPI_Allreduce)
# Prints each pretrain's time (the stage's own seconds from `anneal run --json`), the
# speed-ups of 2 tasks over the two one-task runs, and the largest difference of each run's
# loss (and val_loss) curve from the 1 task × 1 thread curve. ANNEAL_BIN picks the binary
# (default: the release build).
set -euo pipefail
steps=${1:-200}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ANNEAL_BIN:-$repo/.build/release/anneal}
[ -x "$bin" ] || { echo "no anneal binary: swift build -c release, or set ANNEAL_BIN" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpirun is not on PATH: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
work=$(mktemp -d /tmp/anneal-dp-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
pipeline() {  # TASKS THREADS: tinychat up to pretrain, pretrain as given
  sed -n '/^  sft:/q;p' "$repo/pipelines/tinychat.yaml" \
    | sed "s/max_iters: 800/max_iters: $steps/; s/eval_interval: 200/eval_interval: 50/" \
    | sed "s/^    uses: pretrain$/    uses: pretrain\n    tasks: $1\n    threads: $2/" \
    | sed '/^    inputs: {shards: tokenize.shards/s/, eval: world.eval, truth: world.truth//' >"$work/p.yaml"
}
cd "$work"
pipeline 1 1
"$bin" run p.yaml --jobs 2 --only tokenize >/dev/null 2>&1
series() { "$bin" metrics p.yaml --stage pretrain --json >"$work/$1.json"; }
run() {  # NAME TASKS THREADS
  pipeline "$2" "$3"
  "$bin" run p.yaml --jobs 2 --force pretrain --json >"$work/$1.run.json" 2>"$work/$1.err" || { cat "$work/$1.err" >&2; exit 1; }
  series "$1"
}
run t1x1 1 1
run t1x2 1 2
run t2x1 2 1
python3 - "$work" "$steps" <<'PY'
import json, sys
work, steps = sys.argv[1], sys.argv[2]
def seconds(name):
    for s in json.load(open(f"{work}/{name}.run.json"))["stages"]:
        if s["name"] == "pretrain": return s["seconds"]
def curve(name, key):
    return {p["step"]: p["value"] for p in json.load(open(f"{work}/{name}.json"))["series"][key]}
base = {k: curve("t1x1", k) for k in ("loss", "val_loss")}
print(f"pretrain, tinychat's model and batch, {steps} steps, --jobs 2")
print("| run | seconds | 2 tasks × 1 thread is faster by | largest loss difference from 1 × 1 | largest val_loss difference |")
print("|---|---|---|---|---|")
t2 = seconds("t2x1")
for name, label in (("t1x1", "1 task × 1 thread"), ("t1x2", "1 task × 2 threads"), ("t2x1", "2 tasks × 1 thread")):
    d = {k: max(abs(curve(name, k)[s] - v) for s, v in base[k].items()) for k in base}
    print(f"| {label} | {seconds(name):.1f} | {seconds(name) / t2:.2f}× | {d['loss']:.2e} | {d['val_loss']:.2e} |")
print(f"final loss (1 × 1): {base['loss'][max(base['loss'])]:.4f}")
PY
echo "binary: $bin"
