#!/usr/bin/env bash
# Data-parallel pretrain (`tasks: 2`) against one process, side by side on this machine.
#
#   bench/slurm/data-parallel.sh [STEPS [REPEAT]]   (default 200 2; needs Open MPI: SLURM_MPI=1 scripts/slurm-up)
#
# tinychat's pretrain (4 layers × 192, context 128, batches of 8 sequences, its data: world,
# clean, dedup, tokenize of pipelines/tinychat.yaml) for STEPS steps, in one cache, three ways
# with the local executor and --jobs 2:
#   1 task × 1 thread,  1 task × 2 threads,  2 tasks × 1 thread (mpirun, MPI_Allreduce)
# each REPEAT times (default 2), interleaved. Prints each pretrain's time (the stage's own
# seconds from `anneal run --json`, the best of the repeats), the CPU seconds of all the run's
# processes (user + sys, from /usr/bin/time), the load average around the runs, the speed-ups
# of 2 tasks over the two one-task runs, and the largest difference of each run's loss (and
# val_loss) curve from the 1 task × 1 thread curve. ANNEAL_BIN picks the binary (default:
# the release build). On a machine busy with other work the tasks wait for each other's
# time slices at every all-reduce: compare only runs made side by side.
set -euo pipefail
steps=${1:-200}
repeat=${2:-2}
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
run() {  # NAME TASKS THREADS REPEAT
  pipeline "$2" "$3"
  /usr/bin/time -f "%U %S" -o "$work/$1.$4.cpu" "$bin" run p.yaml --jobs 2 --force pretrain --json >"$work/$1.$4.run.json" 2>"$work/$1.err" \
    || { cat "$work/$1.err" >&2; exit 1; }
  series "$1"
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$repeat"); do
  run t1x1 1 1 "$r"
  run t1x2 1 2 "$r"
  run t2x1 2 1 "$r"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$work" "$steps" "$repeat" "$load0" "$load1" <<'PY'
import json, sys
work, steps, repeat, load0, load1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def stage_seconds(name, r):
    for s in json.load(open(f"{work}/{name}.{r}.run.json"))["stages"]:
        if s["name"] == "pretrain": return s["seconds"]
def seconds(name): return min(stage_seconds(name, r) for r in range(1, repeat + 1))
def all_seconds(name): return ", ".join(f"{stage_seconds(name, r):.1f}" for r in range(1, repeat + 1))
def cpu(name): return min(sum(map(float, open(f"{work}/{name}.{r}.cpu").read().split()[-2:])) for r in range(1, repeat + 1))
def curve(name, key):
    return {p["step"]: p["value"] for p in json.load(open(f"{work}/{name}.json"))["series"][key]}
base = {k: curve("t1x1", k) for k in ("loss", "val_loss")}
print(f"pretrain, tinychat's model and batch, {steps} steps, --jobs 2, best of {repeat}; load average {load0} before, {load1} after")
print("| run | seconds (each repeat) | CPU seconds | 2 tasks × 1 thread is faster by | largest loss difference from 1 × 1 | largest val_loss difference |")
print("|---|---|---|---|---|---|")
t2 = seconds("t2x1")
for name, label in (("t1x1", "1 task × 1 thread"), ("t1x2", "1 task × 2 threads"), ("t2x1", "2 tasks × 1 thread")):
    d = {k: max(abs(curve(name, k)[s] - v) for s, v in base[k].items()) for k in base}
    print(f"| {label} | {seconds(name):.1f} ({all_seconds(name)}) | {cpu(name):.1f} | {seconds(name) / t2:.2f}× | {d['loss']:.2e} | {d['val_loss']:.2e} |")
print(f"final loss (1 × 1): {base['loss'][max(base['loss'])]:.4f}")
PY
echo "binary: $bin"
