#!/usr/bin/env bash
# Training throughput, Anneal vs PyTorch eager (2 threads, fp32), run back to back.
#   bash bench/train_vs_pytorch.sh [CONFIGS] [STEPS]      e.g.  bash bench/train_vs_pytorch.sh "C1 C2" 10
# Anneal runs as `anneal bench train --config X --steps N --json` (built here in release).
# PyTorch comes from a venv the script creates (/tmp/anneal-bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIGS=${1:-"C1 C2"}
STEPS=${2:-10}
VENV=${VENV:-/tmp/anneal-bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q torch numpy
fi
swift build -c release --product anneal >&2
anneal_json() {
    .build/release/anneal bench train --config "$1" --steps "$STEPS" --json
}
for c in $CONFIGS; do
    a=$(anneal_json "$c")
    p=$("$VENV/bin/python" bench/torch_train.py "$c" "$STEPS")
    echo "anneal  $a"
    echo "pytorch $p"
    python3 - "$a" "$p" <<'PY'
import json, sys
a, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{a['config']}: Anneal {a['tokens_per_s']:.0f} tok/s (MFU {a['mfu']:.2f} of {a['peak_gflops']:.0f} GFLOP/s sgemm peak, "
      f"RSS {a['peak_rss_bytes']/2**20:.0f} MiB) | PyTorch {p['tokens_per_s']:.0f} tok/s (RSS {p['peak_rss_bytes']/2**20:.0f} MiB) "
      f"| ratio {a['tokens_per_s']/p['tokens_per_s']:.2f}x")
PY
done
