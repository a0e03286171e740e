#!/usr/bin/env bash
# Every speed benchmark of the README's "Runtime" and "Speed" sections, one after the other, in
# one run (their tables in docs/results/ come from one such run). Each one's output goes to
# OUT/<name>.txt (default: runs/speed). Run it on an otherwise idle machine:
#   bash benchmarks/speed.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-runs/speed}
mkdir -p "$OUT"
{ date -u; uptime; } > "$OUT/started"
$PY benchmarks/runtime.py --repeats 5 > "$OUT/runtime.txt" 2>&1
$PY benchmarks/large.py > "$OUT/large.txt" 2>&1
$PY benchmarks/load.py --requests 1 > "$OUT/burst.txt" 2>&1
$PY benchmarks/load.py --requests 1 --client gradio > "$OUT/burst-gradio-client.txt" 2>&1
$PY benchmarks/load.py --single > "$OUT/single512.txt" 2>&1
$PY benchmarks/load.py --single --side 4000 > "$OUT/single4000.txt" 2>&1
$PY benchmarks/load.py --first > "$OUT/first.txt" 2>&1
$PY benchmarks/video.py --example --methods deoldify --passes 1 2 --workers 2 > "$OUT/video.txt" 2>&1
{ date -u; uptime; } > "$OUT/finished"
echo "results in $OUT"
