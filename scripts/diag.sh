#!/usr/bin/env bash
# scripts/diag.sh compiled-out <build-dir> | compiled-in
# The diagnostic hook (include/libhvcore/base/diag.h) both ways:
#   compiled-out: the archives of a build without HVCORE_DIAG hold no
#                 hv_diag symbol and none of the refusal texts.
#   compiled-in:  build the diag preset (HVCORE_DIAG=ON), check that
#                 libhvcore_base.a defines the hook, and run the unit test
#                 that needs it (tests/unit/sched/test_diag.c) there.
set -euo pipefail
mode=${1:?usage: diag.sh compiled-out BUILD_DIR | compiled-in}
cd "$(dirname "$0")/.."

case "$mode" in
compiled-out)
	build=${2:?usage: diag.sh compiled-out BUILD_DIR}
	nm=$(sed -n 's/^CMAKE_NM:[A-Z]*=//p' "$build/CMakeCache.txt")
	mapfile -t archives < <(ls "$build"/lib/*/libhvcore_*.a)
	[ "${#archives[@]}" -gt 0 ] || { echo "no archives under $build/lib" >&2; exit 1; }
	bad=0
	if "$nm" -A "${archives[@]}" 2>/dev/null | grep -F hv_diag; then
		echo "an archive built without HVCORE_DIAG names hv_diag" >&2
		bad=1
	fi
	# A text each module passes to HV_REFUSE(): none may reach an archive.
	for text in "cpu_count above HV_SCHED_MAX_CPUS" "desc->vp_quota is 0" "desc is NULL"; do
		if grep -lF -- "$text" "${archives[@]}"; then
			echo "an archive built without HVCORE_DIAG holds \"$text\"" >&2
			bad=1
		fi
	done
	[ "$bad" = 0 ] && echo "diag: ${#archives[@]} archives without a trace of the hook"
	exit "$bad"
	;;
compiled-in)
	cmake --preset diag >/dev/null
	cmake --build --preset diag --target unit_sched_diag
	base=build/diag/lib/base/libhvcore_base.a
	nm=$(sed -n 's/^CMAKE_NM:[A-Z]*=//p' build/diag/CMakeCache.txt)
	for sym in hv_diag_set hv_diag_refuse; do
		"$nm" "$base" | grep -q " T $sym\$" || { echo "$base does not define $sym" >&2; exit 1; }
	done
	# The compiled-out check must bite on these archives.
	if bash scripts/diag.sh compiled-out build/diag >/dev/null 2>&1; then
		echo "diag.sh compiled-out accepted archives built with HVCORE_DIAG" >&2
		exit 1
	fi
	build/diag/tests/unit_sched_diag
	;;
*)
	echo "unknown mode: $mode" >&2
	exit 2
	;;
esac
