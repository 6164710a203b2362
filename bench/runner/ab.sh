#!/usr/bin/env bash
# A/B of two anneal binaries on the no-op of 1000-stage chain and fan pipelines, runs
# interleaved (old, new, old, new, ...) so machine load hits both alike. Prints the minimum
# and median wall time of N runs per binary and the new/old ratio of medians, then the same
# ratio for CPU time (user + system of the child): on a shared, loaded machine the wall time
# is mostly waiting for a core, and the CPU time is what the binary itself costs.
#   bash bench/runner/ab.sh OLD_ANNEAL NEW_ANNEAL [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
old=$1 new=$2 n=${3:-15}
work=${TMPDIR:-/tmp}/anneal-ab-bench
rm -rf "$work"; mkdir -p "$work"
printf '%-6s %-7s %-10s %-10s %-10s %-10s %-8s %-10s %-10s %-8s\n' shape command "old min" "old med" "new min" "new med" new/old \
  "old cpu" "new cpu" "cpu n/o"
for shape in chain fan; do
  python3 "$root/bench/runner/gen_pipeline.py" anneal "$shape" 1000 "$work/$shape"
  for which in old new; do
    bin=${!which}
    (cd "$work/$shape" && "$bin" run p.yaml --cache "cache-$which" >/dev/null 2>&1 && "$bin" run p.yaml --cache "cache-$which" >/dev/null 2>&1)
  done
  for cmd in run status; do
    python3 - "$work/$shape" "$old" "$new" "$cmd" "$n" "$shape" <<'PY'
import os, resource, statistics, subprocess, sys, time
d, old, new, cmd, n, shape = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
t = {"old": [], "new": []}
cpu = {"old": [], "new": []}
def used():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
for _ in range(n):
    for which, b in (("old", old), ("new", new)):
        c0, t0 = used(), time.perf_counter()
        subprocess.run([b, cmd, "p.yaml", "--cache", "cache-" + which], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        t[which].append(time.perf_counter() - t0)
        cpu[which].append(used() - c0)
mo, mn = statistics.median(t["old"]), statistics.median(t["new"])
co, cn = statistics.median(cpu["old"]), statistics.median(cpu["new"])
print(f"{shape:<6} {cmd:<7} {min(t['old']):<10.4f} {mo:<10.4f} {min(t['new']):<10.4f} {mn:<10.4f} {mn / mo:<8.2f} {co:<10.4f} {cn:<10.4f} {cn / co:<8.2f}")
PY
  done
done
