#!/usr/bin/env bash
# scripts/bench-compare.sh <base-rev> [rounds] [program]: time one benchmark
# program of the work tree against the same program built from <base-rev>
# (default: HEAD~1), in the same run, and print each median's ratio as JSON
# lines:
#   {"bench": ..., "n": ..., "base_ns": ..., "head_ns": ..., "ratio": head/base}
# This machine's speed swings 1.6-1.8x between runs, so a median is only
# comparable with one measured beside it: the two programs run in turns
# (base, head, base, head, ...) for <rounds> rounds (default 5) and each
# figure is the median of its rounds. A ratio at or below 1.0 means the
# work tree is no slower than <base-rev>. <program> defaults to bench_sched.
# `make bench-compare BASE=<rev>` runs it.
set -euo pipefail
base=${1:-HEAD~1}
rounds=${2:-5}
prog=${3:-bench_sched}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
cleanup() {
	git -C "$root" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

git -C "$root" worktree add --detach "$tmp/src" "$base" >/dev/null 2>&1 ||
	{ echo "bench-compare: cannot check out $base" >&2; exit 1; }
for side in base head; do
	src=$root
	[ "$side" = base ] && src=$tmp/src
	cmake -S "$src" -B "$tmp/$side" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DHVCORE_BUILD_TESTS=OFF -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON >/dev/null
	cmake --build "$tmp/$side" --target "$prog" >/dev/null
done
for r in $(seq 1 "$rounds"); do
	for side in base head; do
		"$tmp/$side/bench/$prog" | sed "s/^/$side $r /" >>"$tmp/all"
	done
done
# Median of the rounds per side, bench and n; then head/base.
python3 - "$tmp/all" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, _, rec = line.split(" ", 2)
    j = json.loads(rec)
    if "median_ns" not in j:
        continue
    runs.setdefault((j["bench"], j["n"]), {}).setdefault(side, []).append(j["median_ns"])
for (bench, n), s in runs.items():
    if "base" not in s or "head" not in s:
        continue
    b, h = statistics.median(s["base"]), statistics.median(s["head"])
    print(json.dumps({"bench": bench, "n": n, "base_ns": round(b, 2), "head_ns": round(h, 2),
                      "ratio": round(h / b, 4) if b > 0 else None}))
EOF
