#!/usr/bin/env bash
# Builds the libFuzzer targets with swiftc (no SwiftPM: the sanitized build stays small) and
# runs each for a bounded time. Exits non-zero, printing the reproducer, if any target finds
# a crash, a timeout or an out-of-memory input.
#
#   fuzz/run.sh                     every target, FUZZ_SECONDS (default 60) each
#   fuzz/run.sh pipeline            one target (pipeline, lockfile, manifest, memo)
#   fuzz/run.sh lockfile CRASHFILE  replay one input (libFuzzer's own syntax)
#
# Targets: pipeline (YAML front end + validator), lockfile (Lockfile.read and its round
# trip), manifest (stages/NAME/stage.yaml, then a pipeline that uses it), memo (the no-op
# memo's reader, raw and behind a valid checksum, and its round trip). Seeds:
# fuzz/corpus/TARGET/ (committed), Tests/Fixtures/fuzz/crashes/ (every crash found, each
# also a Swift test), pipelines/ and stages/*/stage.yaml; what a run discovers is kept in
# .build/fuzz/corpus/TARGET/ for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/fuzz
seconds=${FUZZ_SECONDS:-60}
targets=(pipeline lockfile manifest memo)
if [ $# -gt 0 ]; then targets=("$1"); shift; fi
mkdir -p "$out"

# Whether this toolchain can build a libFuzzer binary at all (Linux toolchains ship it;
# Xcode's does not). Exit 0 with a message so callers can skip, not fail.
probe="$out/probe"
printf '@_cdecl("LLVMFuzzerTestOneInput") public func f(_ d: UnsafePointer<UInt8>, _ n: Int) -> CInt { 0 }\n' > "$probe.swift"
if ! swiftc -sanitize=fuzzer,address -parse-as-library "$probe.swift" -o "$probe" >"$probe.log" 2>&1; then
  echo "fuzz: skipped: this Swift toolchain cannot build libFuzzer targets (swiftc -sanitize=fuzzer):" >&2
  tail -3 "$probe.log" >&2
  exit 0
fi

# Release-like code (what users run) with sanitizer coverage and AddressSanitizer.
flags=(-swift-version 6 -O -sanitize=fuzzer,address -parse-as-library -g -I "$out" -I Sources/CYAML)
lib() {  # lib MODULE SOURCES…: a static library and its module
  local name=$1; shift
  swiftc "${flags[@]}" -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
    -emit-library -static -o "$out/lib$name.a" "$@" 2> >(grep -v "warning: Cannot export local symbol" >&2)
}
echo "fuzz: building the targets in $out"
lib Crypto fuzz/Support/Crypto.swift
lib AnnealPipeline Sources/AnnealPipeline/*.swift
# The part of AnnealEngine that reads lockfiles and manifests; the rest needs GRDB.
lib AnnealEngine Sources/AnnealEngine/{ActionCache,ContentStore,Digest,FileState,FileTree,LeftoverGroups,Lockfile,LockSnapshot,NoOpMemo,NoOpMemo+Coding,OutputCheck,SpareDirectories,StageFacts,StageRegistry,StoreError,SwiftPlugin}.swift
for t in "${targets[@]}"; do
  main=$(tr '[:lower:]' '[:upper:]' <<<"${t:0:1}")${t:1}Fuzz.swift
  swiftc "${flags[@]}" -module-name "${t}fuzz" "fuzz/$main" fuzz/Support/FuzzWorkspace.swift \
    -L "$out" -lAnnealEngine -lAnnealPipeline -lCrypto -lyaml -o "$out/$t" 2> >(grep -v "warning: Cannot export local symbol" >&2)
done

# A trap must reach libFuzzer's handler (which writes the reproducer), not Swift's backtracer.
export SWIFT_BACKTRACE=enable=no
# The targets' scratch workspace: in memory when there is a tmpfs (a file per input is much of
# the lockfile target's cost); removed even when a target crashes.
ANNEAL_FUZZ_TMP=$(mktemp -d /dev/shm/anneal-fuzz.XXXXXX 2>/dev/null || mktemp -d)
export ANNEAL_FUZZ_TMP
trap 'rm -rf "$ANNEAL_FUZZ_TMP"' EXIT
# Leak checks off: swift-corelibs-foundation's String(contentsOfFile:) leaks its buffer on an
# empty file (Swift 6.3.1), which would fail the lockfile target on its first input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
status=0
for t in "${targets[@]}"; do
  if [ $# -gt 0 ]; then "$out/$t" "$@"; exit; fi
  work="$out/corpus/$t"
  crashes="$out/crashes"
  mkdir -p "$work" "$crashes"
  seeds=("fuzz/corpus/$t" Tests/Fixtures/fuzz/crashes)  # every crash found so far, as a seed
  [ "$t" = pipeline ] && seeds+=(pipelines)
  if [ "$t" = manifest ]; then  # the repository's plugin manifests, as they are today
    mkdir -p "$ANNEAL_FUZZ_TMP/manifests"
    for m in stages/*/stage.yaml; do [ -f "$m" ] && cp "$m" "$ANNEAL_FUZZ_TMP/manifests/$(basename "$(dirname "$m")").yaml"; done
    seeds+=("$ANNEAL_FUZZ_TMP/manifests")
  fi
  log="$out/$t.log"
  echo "fuzz: $t for ${seconds}s"
  if "$out/$t" "$work" "${seeds[@]}" -dict=fuzz/yaml.dict -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$crashes/$t-" -print_final_stats=1 >"$log" 2>&1; then
    { grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -1 | sed "s/^/fuzz: $t: /"
      grep -E "stat::number_of_executed_units|stat::new_units_added" "$log" | sed "s/^/fuzz: $t: /"; } || true
  else
    status=1
    echo "fuzz: $t FOUND A CRASH; log: $log" >&2
    grep -B30 -A4 -m1 -E "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Fatal error" "$log" | grep -v "^INFO" | head -40 >&2 || true
    grep -E "Test unit written to" "$log" | sed "s/^/fuzz: $t: reproducer: /" >&2 || true
    echo "fuzz: replay it with: fuzz/run.sh $t PATH; keep it as Tests/Fixtures/fuzz/crashes/$t-WHAT (a seed from" \
      "then on) with a Swift test that loads it and expects a value or a diagnostic" >&2
  fi
done
exit $status
