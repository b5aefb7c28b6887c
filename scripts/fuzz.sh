#!/usr/bin/env bash
# scripts/fuzz.sh <build-dir> [seconds] [merge]: run every libFuzzer target
# of <build-dir> (listed in tests/fuzz/fuzz_targets.txt by CMake) for
# <seconds> each (default 120), or until it has run FUZZ_RUNS inputs if
# that is set and comes first (a campaign: FUZZ_RUNS=10000000), on its
# working corpus in the build tree with
# tests/fuzz/corpus/<name>/ as seeds; the repository's corpus is not
# written. A crash stops the script (exit 1) with the input saved as
# <build-dir>/tests/fuzz/<exe>-crash-*. (Minimize it with
# `<exe> -minimize_crash=1 -runs=100000 <input>` and keep the result under
# tests/fuzz/corpus/<name>/ as a regression seed.)
#
# With "merge" as third argument it runs nothing but folds each working
# corpus into tests/fuzz/corpus/<name>/ with -merge=1 (only the inputs that
# add coverage are copied): `make fuzz-merge`, only when the seeds are to be
# refreshed; commit what it adds.
set -euo pipefail
build=${1:-build/dev}
secs=${2:-120}
mode=${3:-run}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "$build" 2>/dev/null && pwd)/tests/fuzz
list=$dir/fuzz_targets.txt
[ -f "$list" ] || { echo "no $list: configure $build first (clang with libFuzzer needed)" >&2; exit 1; }
while read -r exe name work seeds; do
	[ -n "$exe" ] || continue
	if [ ! -x "$dir/$exe" ]; then
		echo "== $exe: not built, skipped" >&2
		continue
	fi
	repo=$root/tests/fuzz/corpus/$name
	mkdir -p "$work" "$repo"
	if [ "$mode" = merge ]; then
		echo "== $exe: merging $work into $repo"
		"$dir/$exe" -merge=1 "$repo" "$work" </dev/null
		continue
	fi
	echo "== $exe: ${secs}s, corpus $work, seeds $repo ${seeds:-}"
	# shellcheck disable=SC2086
	(cd "$dir" && "./$exe" -max_total_time="$secs" -runs="${FUZZ_RUNS:--1}" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$dir/$exe-" "$work" "$repo" ${seeds:-} </dev/null)
done <"$list"
