#!/usr/bin/env bash
# No-op overhead of `anneal run` and `anneal status` on 100- and 1000-stage chains and fans,
# side by side with ninja (Debian ninja-build) and, if BENCH_SNAKEMAKE=1, Snakemake from PyPI
# in a venv. Prints the median wall time of 5 runs after one warm-up, and anneal/peer ratios.
#   bash bench/runner/noop.sh            (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${TMPDIR:-/tmp}/anneal-noop-bench
rm -rf "$work"; mkdir -p "$work"
if [ -z "${ANNEAL_BIN:-}" ]; then swift build -c release --product anneal --package-path "$root" >&2; fi
anneal=${ANNEAL_BIN:-$root/.build/release/anneal}
command -v ninja >/dev/null || { apt-get install -y -qq ninja-build >/dev/null 2>&1 || true; }
if [ "${BENCH_SNAKEMAKE:-0}" = 1 ] && [ ! -x "$work/venv/bin/snakemake" ]; then
  python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q snakemake >&2
fi
median() { python3 -c "import sys,statistics; print('%.4f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
timeit() {  # median seconds of "$@" over 5 runs after a warm-up
  "$@" >/dev/null 2>&1
  local ts=()
  for _ in 1 2 3 4 5; do
    local t0=$(date +%s.%N); "$@" >/dev/null 2>&1; local t1=$(date +%s.%N)
    ts+=("$(python3 -c "print($t1 - $t0)")")
  done
  median "${ts[@]}"
}
printf '%-6s %-5s %-22s %-22s %-12s %-10s\n' shape n "anneal run (s)" "anneal status (s)" "ninja (s)" "run/ninja"
for shape in chain fan; do
  for n in 100 1000; do
    d="$work/$shape-$n"
    python3 "$root/bench/runner/gen_pipeline.py" anneal "$shape" "$n" "$d/anneal"
    (cd "$d/anneal" && "$anneal" run p.yaml --cache cache >/dev/null 2>&1)
    run=$(cd "$d/anneal" && timeit "$anneal" run p.yaml --cache cache)
    status=$(cd "$d/anneal" && timeit "$anneal" status p.yaml --cache cache)
    ninja_t=n/a; ratio=n/a
    if command -v ninja >/dev/null; then
      python3 "$root/bench/runner/gen_pipeline.py" ninja "$shape" "$n" "$d/ninja"
      (cd "$d/ninja" && ninja >/dev/null)
      ninja_t=$(cd "$d/ninja" && timeit ninja)
      ratio=$(python3 -c "print('%.1f' % ($run / $ninja_t))")
    fi
    printf '%-6s %-5s %-22s %-22s %-12s %-10s\n' "$shape" "$n" "$run" "$status" "$ninja_t" "$ratio"
    if [ "${BENCH_SNAKEMAKE:-0}" = 1 ]; then
      python3 "$root/bench/runner/gen_pipeline.py" snakemake "$shape" "$n" "$d/snake"
      if (cd "$d/snake" && "$work/venv/bin/snakemake" --cores 2 -q >/dev/null 2>&1); then
        snake=$(cd "$d/snake" && timeit "$work/venv/bin/snakemake" --cores 2 -q)
        echo "  snakemake no-op: $snake s (snakemake/anneal $(python3 -c "print('%.0f' % ($snake / $run))")x)"
      else
        echo "  snakemake: its first run fails on this DAG (deep chains hit Python's recursion limit)"
      fi
    fi
  done
done
