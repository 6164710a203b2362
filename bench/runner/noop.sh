#!/usr/bin/env bash
# The runner's overhead on trivial stages, side by side with ninja (Debian ninja-build) and,
# if BENCH_SNAKEMAKE=1, Snakemake from PyPI in a venv, on chains and fans of NOOP_SIZES stages
# (default "100 1000 10000"; NOOP_SHAPES default "chain fan"):
# - first: the first full run (anneal run, ninja) of every stage, once, in wall seconds, and
#   the CPU seconds (user + system) it took, the tool's and its children's (the stages') together;
# - no-op: `anneal run`, `anneal status` and ninja with nothing to do, median wall seconds of
#   5 runs after a warm-up, with the peak resident memory of one run (/usr/bin/time -v, MB) and
#   the median CPU seconds (user + system) of the 5 runs: on a shared machine wall time is mostly
#   waiting for a core, CPU time is what the tool itself costs;
# - validate, dag: `anneal validate` and `anneal dag`, median of 5;
# - ratios: anneal/ninja for the first run and the no-ops.
#   bash bench/runner/noop.sh            (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${TMPDIR:-/tmp}/anneal-noop-bench
sizes=${NOOP_SIZES:-100 1000 10000}
shapes=${NOOP_SHAPES:-chain fan}
mkdir -p "$work"
if [ -z "${ANNEAL_BIN:-}" ]; then swift build -c release --product anneal --package-path "$root" >&2; fi
anneal=${ANNEAL_BIN:-$root/.build/release/anneal}
command -v ninja >/dev/null || { apt-get install -y -qq ninja-build >/dev/null 2>&1 || true; }
if [ "${BENCH_SNAKEMAKE:-0}" = 1 ] && [ ! -x "$work/venv/bin/snakemake" ]; then
  python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q snakemake >&2
fi
median() { python3 -c "import sys,statistics; print('%.4f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
once() {  # seconds of one run of "$@"
  local t0=$(date +%s.%N); "$@" >/dev/null 2>&1; local t1=$(date +%s.%N)
  python3 -c "print('%.3f' % ($t1 - $t0))"
}
cpu() {  # CPU seconds (user + system) of one run of "$@", from the kernel's accounting
  python3 -c 'import resource, subprocess, sys
def used(): r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime
before = used()  # Python may have started children of its own already
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("%.4f" % (used() - before))' "$@"
}
firstrun() {  # "WALL CPU" of one run of "$@": wall seconds, CPU seconds of it and its children
  python3 -c 'import resource, subprocess, sys, time
def used(): r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime
before, t = used(), time.time()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("%.3f %.3f" % (time.time() - t, used() - before))' "$@"
}
timeit() {  # "WALL CPU": median wall seconds of "$@" over 5 runs after a warm-up, then median
  # CPU seconds of 5 more, kept apart so that the measuring wrapper's start counts in neither
  "$@" >/dev/null 2>&1
  local ts=() cs=()
  for _ in 1 2 3 4 5; do ts+=("$(once "$@")"); done
  for _ in 1 2 3 4 5; do cs+=("$(cpu "$@")"); done
  echo "$(median "${ts[@]}") $(median "${cs[@]}")"
}
peak() {  # peak resident memory of one run of "$@", in MB
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ { printf "%.0f", $6 / 1024 }'
}
ratio() { python3 -c "print('%.1f' % ($1 / $2))"; }
printf '%-6s %-6s | %-9s %-9s %-6s %-8s %-8s %-6s | %-9s %-5s %-9s %-5s %-9s %-5s %-7s %-7s | %-7s %-7s %-7s | %-8s %-8s\n' shape n \
  "first(s)" "ninja(s)" ratio "f cpu" "nf cpu" ratio "run(s)" MB "status(s)" MB "ninja(s)" MB run/nj stat/nj "run cpu" "st cpu" "nj cpu" "valid(s)" "dag(s)"
for shape in $shapes; do
  for n in $sizes; do
    d="$work/$shape-$n"
    rm -rf "$d"
    python3 "$root/bench/runner/gen_pipeline.py" anneal "$shape" "$n" "$d/anneal"
    python3 "$root/bench/runner/gen_pipeline.py" ninja "$shape" "$n" "$d/ninja"
    read -r first first_cpu < <(cd "$d/anneal" && firstrun "$anneal" run p.yaml --cache cache)
    read -r nfirst nfirst_cpu < <(cd "$d/ninja" && firstrun ninja -j "$(nproc)")  # anneal's --jobs default: the cores
    read -r run run_cpu < <(cd "$d/anneal" && timeit "$anneal" run p.yaml --cache cache)
    run_mb=$(cd "$d/anneal" && peak "$anneal" run p.yaml --cache cache)
    read -r status status_cpu < <(cd "$d/anneal" && timeit "$anneal" status p.yaml --cache cache)
    status_mb=$(cd "$d/anneal" && peak "$anneal" status p.yaml --cache cache)
    read -r ninja_t ninja_cpu < <(cd "$d/ninja" && timeit ninja)
    ninja_mb=$(cd "$d/ninja" && peak ninja)
    validate=$(cd "$d/anneal" && timeit "$anneal" validate p.yaml | cut -d " " -f 1)
    dag=$(cd "$d/anneal" && timeit "$anneal" dag p.yaml | cut -d " " -f 1)
    printf '%-6s %-6s | %-9s %-9s %-6s %-8s %-8s %-6s | %-9s %-5s %-9s %-5s %-9s %-5s %-7s %-7s | %-7s %-7s %-7s | %-8s %-8s\n' "$shape" "$n" \
      "$first" "$nfirst" "$(ratio "$first" "$nfirst")" "$first_cpu" "$nfirst_cpu" "$(ratio "$first_cpu" "$nfirst_cpu")" "$run" "$run_mb" "$status" "$status_mb" "$ninja_t" "$ninja_mb" \
      "$(ratio "$run" "$ninja_t")" "$(ratio "$status" "$ninja_t")" "$run_cpu" "$status_cpu" "$ninja_cpu" "$validate" "$dag"
    if [ "${BENCH_SNAKEMAKE:-0}" = 1 ]; then
      python3 "$root/bench/runner/gen_pipeline.py" snakemake "$shape" "$n" "$d/snake"
      if (cd "$d/snake" && "$work/venv/bin/snakemake" --cores 2 -q >/dev/null 2>&1); then
        snake=$(cd "$d/snake" && timeit "$work/venv/bin/snakemake" --cores 2 -q | cut -d " " -f 1)
        echo "  snakemake no-op: $snake s (snakemake/anneal $(python3 -c "print('%.0f' % ($snake / $run))")x)"
      else
        echo "  snakemake: its first run fails on this DAG (deep chains hit Python's recursion limit)"
      fi
    fi
  done
done
