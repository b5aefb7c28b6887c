#!/usr/bin/env bash
# scripts/bench.sh <build-dir>: run every benchmark program; JSON lines out.
set -euo pipefail
build=${1:-build/release}
shopt -s nullglob
ran=0
for b in "$build"/bench/bench_*; do
	[ -x "$b" ] && [ -f "$b" ] || continue
	"$b"
	ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "no benchmark programs in $build/bench" >&2; exit 1; }
