#!/usr/bin/env bash
# make coverage (and a step of make check): line and branch coverage of lib/
# and of the host-testable parts of the ports (ports/host/src,
# ports/arm64/src/pure) under the unit tests and the host-sim example, and a
# floor for lib/ that may only go up.
#
#   scripts/coverage.sh          configure and build the `coverage` preset,
#                                run the unit tests and e2e.host-sim, report,
#                                check the floor
#   scripts/coverage.sh report   report and check from the counters the last
#                                run left in build/coverage
#
# The report: gcovr's summary, lib/ line coverage per module, and HTML in
# build/coverage/coverage/index.html. The floor is scripts/coverage-floor (a
# whole percentage of lib/'s lines): below it this fails; a whole point or
# more above it, it says to raise the floor.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/coverage
out=$build/coverage
floor_file=scripts/coverage-floor
# Only the code the figures are about; tests, examples and benchmarks are
# compiled with instrumentation too but never counted.
filters=(--filter 'lib/' --filter 'ports/host/src/' --filter 'ports/arm64/src/pure/'
	--exclude 'tests/' --exclude 'examples/' --exclude 'bench/')

if ! command -v gcovr >/dev/null; then
	echo "coverage: gcovr not found (scripts/deps.sh installs it)" >&2
	exit 1
fi

if [ "${1:-}" != report ]; then
	start=$(date +%s)
	cmake --preset coverage
	# Only what the run needs: the unit test programs and the host-sim
	# example (not the fuzz targets, which clang builds uninstrumented).
	cmake --build --preset coverage --target hvcore_unit_tests hvcore-host-sim
	# Counters from an earlier run would add up: start from zero.
	find "$build" -name '*.gcda' -delete
	ctest --preset coverage
	echo "coverage: build and tests took $(($(date +%s) - start)) s"
fi

if [ -z "$(find "$build" -name '*.gcda' -print -quit 2>/dev/null)" ]; then
	echo "coverage: no counters in $build: run scripts/coverage.sh (make coverage) first" >&2
	exit 1
fi

rm -rf "$out"
mkdir -p "$out"
# gcov runs once; the per-file table and the lib/ figures read its tracefile.
gcovr --root . "${filters[@]}" -j 2 \
	--json "$out/coverage.json" \
	--html-details "$out/index.html" --html-title "libhvcore coverage" \
	--txt "$out/files.txt" --print-summary "$build" >"$out/summary-all.txt"
gcovr --root . --add-tracefile "$out/coverage.json" --filter 'lib/' \
	--txt "$out/lib-files.txt" --print-summary >"$out/summary-lib.txt"

# Per module: add up gcovr's per-file rows (lib/<module>/..., and each
# port part). A long file name sits on a line of its own, its figures on
# the next.
echo
echo "coverage: lines per module"
awk '
	function part(f) {
		if (f ~ /^lib\//) { split(f, p, "/"); return "lib/" p[2] }
		if (f ~ /^ports\/host\/src\//) return "ports/host/src"
		if (f ~ /^ports\/arm64\/src\/pure\//) return "ports/arm64/src/pure"
		return ""
	}
	function add(f, n, x) { m = part(f); if (m == "") return; if (!(m in tot)) order[++k] = m; tot[m] += n; hit[m] += x }
	NF == 1 && $1 ~ /\.[ch]$/ { pending = $1; next }
	pending != "" && $1 ~ /^[0-9]+$/ { add(pending, $1, $2); pending = ""; next }
	$1 ~ /\.[ch]$/ && $2 ~ /^[0-9]+$/ { add($1, $2, $3) }
	{ pending = "" }
	END {
		for (i = 1; i <= k; i++) {
			m = order[i]
			printf "  %-22s %5.1f%%  (%d of %d lines)\n", m, tot[m] ? 100 * hit[m] / tot[m] : 0, hit[m], tot[m]
		}
	}' "$out/files.txt"
echo
echo "coverage: lib/, ports/host/src, ports/arm64/src/pure (gcovr summary)"
sed 's/^/  /' "$out/summary-all.txt"
echo "coverage: lib/ (gcovr summary)"
sed 's/^/  /' "$out/summary-lib.txt"
echo "coverage: per-file table: $out/files.txt; HTML: $out/index.html"

# The floor: lib/ line coverage, e.g. "lines: 87.3% (1234 out of 1413)".
read -r hit total < <(sed -n 's/^lines: [0-9.]*% (\([0-9]*\) out of \([0-9]*\)).*/\1 \2/p' "$out/summary-lib.txt")
if [ -z "${hit:-}" ] || [ -z "${total:-}" ] || [ "$total" -eq 0 ]; then
	echo "coverage: could not read lib/ line coverage from gcovr's summary" >&2
	exit 1
fi
floor=$(grep -v '^[[:space:]]*#' "$floor_file" | tr -d '[:space:]')
if ! [[ "$floor" =~ ^[0-9]+$ ]]; then
	echo "coverage: $floor_file must hold a whole percentage, found '$floor'" >&2
	exit 1
fi
pct=$(awk -v h="$hit" -v t="$total" 'BEGIN { printf "%.1f", 100 * h / t }')
if [ $((hit * 100)) -lt $((floor * total)) ]; then
	echo "coverage: FAIL: lib/ line coverage ${pct}% ($hit of $total lines) is below the floor of ${floor}% ($floor_file)." >&2
	echo "coverage: add tests for the code you changed (see $out/index.html for the lines no test runs); do not lower the floor." >&2
	exit 1
fi
echo "coverage: lib/ line coverage ${pct}% ($hit of $total lines), floor ${floor}% ($floor_file): ok"
if [ $((hit * 100)) -ge $(((floor + 1) * total)) ]; then
	echo "coverage: lib/ is a whole point or more above the floor: raise it in $floor_file to $((hit * 100 / total)) (the figure rounded down)."
fi
