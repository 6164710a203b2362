#!/usr/bin/env bash
# End-to-end test of `anneal report` in a real browser: runs a one-run pipeline and a four-variant
# sweep (pipelines/sweep.yaml and its plugins), writes both reports, renders each in headless
# Chromium (installed from Debian's packages if missing), takes a screenshot, and checks the page
# structure through the browser's DOM: a checker page loads the report in an iframe and queries
# it (an SVG per metric that lays out to a non-empty box, a legend entry per line, the DAG with
# a node per stage), and Chromium's --dump-dom returns what the checker found.
#
#   Tests/Browser/report-browser.sh [ANNEAL_BIN] [SCREENSHOT_DIR]
# SCREENSHOT_DIR (default: a temporary directory) receives report-1.png and report-4.png;
# `Tests/Browser/report-browser.sh .build/debug/anneal docs` refreshes the README's pictures.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:-$root/.build/debug/anneal}")"
shots="${2:-}"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "installing Chromium from Debian's packages…"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
  browser="$(command -v chromium)"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
[ -n "$shots" ] || shots="$work/shots"
mkdir -p "$shots"
shots="$(realpath "$shots")"
mkdir -p "$work/ws/pipelines"
cp -r "$root/stages" "$work/ws/"
cp "$root/pipelines/sweep.yaml" "$work/ws/pipelines/"
cat > "$work/ws/pipelines/single.yaml" <<'YAML'
name: single
seed: 7
stages:
  data: {uses: toydata}
  fit: {uses: linfit, inputs: {data: data.train}, with: {steps: 300, learning_rate: 0.02, batch_size: 8}}
  eval: {uses: lineval, inputs: {model: fit.model, data: data.test}}
YAML
cd "$work/ws"
"$bin" run pipelines/single.yaml >/dev/null 2>&1
"$bin" run pipelines/sweep.yaml >/dev/null 2>&1
"$bin" report -p pipelines/single.yaml -o "$work/report-1.html"
"$bin" report -p pipelines/sweep.yaml -o "$work/report-4.html"

# chromium wants a writable HOME for its profile; tests may run as a user without one.
export HOME="$work/home"
mkdir -p "$HOME"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-dev-shm-usage
       --user-data-dir="$work/profile" --allow-file-access-from-files)

check() {  # check REPORT EXPECTED_CHARTS EXPECTED_LINES EXPECTED_NODES
  local report="$1" name
  name="$(basename "$report" .html)"
  cat > "$work/check-$name.html" <<HTML
<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="r" src="file://$report" style="width:1280px;height:900px"></iframe>
<script>
const started = performance.now();
document.getElementById('r').addEventListener('load', () => {
  const doc = document.getElementById('r').contentDocument;
  const charts = [...doc.querySelectorAll('svg.chart')];
  const drawn = charts.filter(c => [...c.querySelectorAll('path.series')].some(p => p.getBBox().width > 0));
  const legends = charts.map(c => c.parentElement.querySelectorAll('li.legend-entry').length);
  const dag = doc.querySelector('svg#dag');
  document.getElementById('result').textContent = JSON.stringify({
    charts: charts.length, drawn: drawn.length, metrics: charts.map(c => c.dataset.metric),
    legends, series: charts.map(c => c.querySelectorAll('path.series').length),
    dagNodes: dag ? dag.querySelectorAll('g.dag-node').length : 0,
    dagWidth: dag ? dag.getBBox().width : 0,
    paramRows: doc.querySelectorAll('table.params tr').length,
    scripts: doc.querySelectorAll('script').length,
    external: [...doc.querySelectorAll('[src],link[href]')].length,
    ms: Math.round(performance.now() - started)});
});
</script></body></html>
HTML
  local dom
  dom="$("$browser" "${flags[@]}" --virtual-time-budget=10000 --dump-dom "file://$work/check-$name.html" 2>/dev/null)"
  "$browser" "${flags[@]}" --window-size=1280,1700 --screenshot="$shots/$name.png" "file://$report" >/dev/null 2>&1
  python3 - "$dom" "$2" "$3" "$4" "$shots/$name.png" "$name" <<'PY'
import html, json, os, re, sys
dom, charts, lines, nodes, png, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
m = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
assert m and m.group(1) != "pending", "the checker page did not run: " + dom[:300]
r = json.loads(html.unescape(m.group(1)))
problems = []
if r["charts"] != charts: problems.append(f"{r['charts']} charts, expected {charts}: {r['metrics']}")
if r["drawn"] != r["charts"]: problems.append(f"only {r['drawn']} of {r['charts']} charts lay out a curve")
if any(n != lines for n in r["legends"]): problems.append(f"legend entries per chart {r['legends']}, expected {lines} each")
if any(n != lines for n in r["series"]): problems.append(f"curves per chart {r['series']}, expected {lines} each")
if r["dagNodes"] != nodes or r["dagWidth"] <= 0: problems.append(f"DAG has {r['dagNodes']} nodes (width {r['dagWidth']}), expected {nodes}")
if lines > 1 and r["paramRows"] != lines + 1: problems.append(f"params table has {r['paramRows']} rows, expected {lines + 1}")
if r["scripts"] or r["external"]: problems.append(f"report has {r['scripts']} scripts and {r['external']} external references")
with open(png, "rb") as f: head = f.read(8)
if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(png) < 10000: problems.append(f"no screenshot at {png}")
print(f"{name}: {r['charts']} charts {r['metrics']}, legends {r['legends']}, DAG {r['dagNodes']} nodes, "
      f"loaded and checked in {r['ms']} ms, screenshot {os.path.getsize(png)} bytes")
if problems:
    print("FAIL: " + "; ".join(problems)); sys.exit(1)
PY
}

# fit reports loss, lr and val_loss every step or every 25 steps: three curves per report.
check "$work/report-1.html" 3 1 3
check "$work/report-4.html" 3 4 10
echo "report browser checks passed"
