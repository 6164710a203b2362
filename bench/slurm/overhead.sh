#!/usr/bin/env bash
# Per-stage overhead of the Slurm executor against the local one, side by side.
#
#   bench/slurm/overhead.sh [STAGES]     (default 20; needs a Slurm: scripts/slurm-up)
#
# Runs a chain of STAGES trivial command stages (each copies its input and adds a line)
# once with the local executor and once with --executor slurm, each in a fresh cache, and
# prints the wall time per stage of both, and the medians of the two figures each Slurm
# stage's log ends with: submit to start (queueing and launch) and end to commit (noticing
# the job's end, hashing and storing its output). ANNEAL_BIN picks the binary (default: the
# release build, else the debug build).
set -euo pipefail
n=${1:-20}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ANNEAL_BIN:-}
[ -n "$bin" ] || for c in release debug; do [ -x "$repo/.build/$c/anneal" ] && { bin="$repo/.build/$c/anneal"; break; }; done
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || { echo "no anneal binary: swift build -c release, or set ANNEAL_BIN" >&2; exit 1; }
scontrol ping 2>/dev/null | grep -q UP || { echo "no Slurm controller answers: run scripts/slurm-up" >&2; exit 1; }
work=$(mktemp -d /tmp/anneal-slurm-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
{
  echo "name: overhead"
  echo "stages:"
  echo "  s0: {run: 'echo 0 > \${outputs.o}/f', outputs: [o]}"
  for i in $(seq 1 $((n - 1))); do
    echo "  s$i: {run: 'cat \${inputs.i}/f > \${outputs.o}/f; echo $i >> \${outputs.o}/f', inputs: {i: s$((i - 1)).o}, outputs: [o]}"
  done
} >"$work/p.yaml"
mkdir "$work/local" "$work/slurm"
cp "$work/p.yaml" "$work/local/"
cp "$work/p.yaml" "$work/slurm/"
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk "BEGIN {print $t1 - $t0}"; }
local_s=$(cd "$work/local" && seconds "$bin" run p.yaml)
slurm_s=$(cd "$work/slurm" && seconds "$bin" run p.yaml --executor slurm)
cd "$work"
cmp -s local/p.lock slurm/p.lock && same="identical" || same="DIFFERENT"
grep -h "^anneal: submit to start" slurm/cache/logs/*/*.log | sed 's/anneal: submit to start \([0-9.]*\)s, end to commit \([0-9.]*\)s/\1 \2/' >"$work/figures"
echo "binary: $bin"
echo "$n stages in a chain"
printf 'local executor: %.2f s wall, %.3f s per stage\n' "$local_s" "$(awk "BEGIN {print $local_s / $n}")"
printf 'slurm executor: %.2f s wall, %.3f s per stage\n' "$slurm_s" "$(awk "BEGIN {print $slurm_s / $n}")"
echo "lockfiles: $same"
printf 'slurm, submit to start: median %.3f s (min %.3f, max %.3f)\n' "$(cut -d' ' -f1 figures | median)" "$(cut -d' ' -f1 figures | sort -g | head -1)" "$(cut -d' ' -f1 figures | sort -g | tail -1)"
printf 'slurm, end to commit:   median %.3f s (min %.3f, max %.3f)\n' "$(cut -d' ' -f2 figures | median)" "$(cut -d' ' -f2 figures | sort -g | head -1)" "$(cut -d' ' -f2 figures | sort -g | tail -1)"
