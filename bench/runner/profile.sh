#!/usr/bin/env bash
# Where a no-op `anneal run` (or status) of a 1000-stage chain spends its CPU: perf samples
# over N runs (default 30), attributed to the phases of docs/runner-speed.md by the inclusive
# share of the function that carries each phase. Needs perf (Debian linux-perf).
#   bash bench/runner/profile.sh [ANNEAL] [run|status] [N] [chain|fan]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
anneal=${1:-$root/.build/release/anneal} cmd=${2:-run} n=${3:-30} shape=${4:-chain}
work=${TMPDIR:-/tmp}/anneal-profile-$shape
if [ ! -f "$work/p.lock" ]; then
  rm -rf "$work"; python3 "$root/bench/runner/gen_pipeline.py" anneal "$shape" 1000 "$work"
  (cd "$work" && "$anneal" run p.yaml --cache cache >/dev/null 2>&1)
fi
cd "$work"
comm=$(basename "$anneal" | cut -c1-15)  # the process name perf records
perf record -q -F 4999 -g -o perf.data -- sh -c "for i in \$(seq $n); do '$anneal' $cmd p.yaml --cache cache >/dev/null 2>&1; done" 2>/dev/null
perf report -i perf.data --comm "$comm" --children -g none --sort sym 2>/dev/null | grep -v '^#' > report.txt
share() { awk -v pat="$1" 'index($0, pat) { v = $1; sub("%", "", v); v += 0; if (v > m) m = v } END { printf "%5.1f%%", m }' report.txt; }
echo "inclusive shares of the anneal process's samples (samples without a usable call chain count as outside main)"
printf '%-44s %s\n' "phase (function)" "inclusive"
printf '%-44s %s\n' "main, all of it (anneal_main)" "$(share anneal_main)"
printf '%-44s %s\n' "parse + validate (PipelineLoader.load)" "$(share 14AnnealPipeline0B6LoaderV4load4file)"
printf '%-44s %s\n' "argument parsing (parseAsRoot)" "$(share ParsableCommandPAAE11parseAsRoot)"
printf '%-44s %s\n' "lockfile read (Lockfile.read)" "$(share 12AnnealEngine8LockfileV4read)"
printf '%-44s %s\n' "lockfile parse (Lockfile.parse, any caller)" "$(share 12AnnealEngine8LockfileV5parse)"
printf '%-44s %s\n' "lockfile encode, to compare (encodedBytes)" "$(share 12AnnealEngine8LockfileV12encodedBytes)"
printf '%-44s %s\n' "ledger open + migrate (Ledger.init)" "$(share 12AnnealEngine6LedgerC4path)"
printf '%-44s %s\n' "stat cache load (Ledger.fileStates)" "$(share 12AnnealEngine6LedgerC10fileStates)"
printf '%-44s %s\n' "scheduler, whole (Runner.run)" "$(share 12AnnealEngine6RunnerC3runAA10RunSummary)"
printf '%-44s %s\n' "status, whole (Planner.status)" "$(share 12AnnealEngine7PlannerV6status)"
printf '%-44s %s\n' "key computation (StageFacts.key)" "$(share 12AnnealEngine10StageFactsV3keySSvg)"
printf '%-44s %s\n' "action-entry reads (ActionCache.lookup)" "$(share 12AnnealEngine11ActionCacheV6lookup)"
printf '%-44s %s\n' "ledger writes (Ledger.record executions)" "$(share 12AnnealEngine6LedgerC6recordyySayAC9ExecutionVG)"
printf '%-44s %s\n' "lockfile write (Lockfile.write)" "$(share 12AnnealEngine8LockfileV5write)"
printf '%-44s %s\n' "console lines (ConsoleReporter.report)" "$(share 12AnnealEngine15ConsoleReporterC6report)"
echo "outside main (exec, dynamic linking, Swift runtime start-up, exit): the rest of the process's samples"
