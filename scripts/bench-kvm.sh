#!/usr/bin/env bash
# scripts/bench-kvm.sh <build-dir>: run bench_kvm (bench/kvm, issue 19 item 5)
# natively where /dev/kvm is readable and writable, and in the nested QEMU
# TCG machine of scripts/kvm-machine.sh where its tools are; its JSON lines
# on standard output, each marked "machine": "native" or "nested-tcg".
#
# Under TCG an exit costs tens of microseconds, so the nested run does
# fewer exits per round; the ratios are what to compare, not the ns. A
# way that cannot run says why on standard error ("bench-kvm: skipped:").
# Exit status: 0 when at least one way ran, 77 when neither could (a skip),
# 1 when a run failed.
# Environment: BENCH_KVM_EXITS / BENCH_KVM_NESTED_EXITS (reads per round,
# native / nested), BENCH_KVM_ROUNDS, BENCH_KVM_BOOTS; KVM_MACHINE_DIR as
# for scripts/kvm-machine.sh.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build/release}
prog=$build/bench/kvm/bench_kvm
rounds=${BENCH_KVM_ROUNDS:-9}
boots=${BENCH_KVM_BOOTS:-5}
ran=0
failed=0

if [ ! -x "$prog" ]; then
	echo "bench-kvm: skipped: $prog not built (needs linux/kvm.h on x86_64 Linux, a build without sanitizers or coverage)" >&2
	exit 77
fi
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Native.
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	t0=$(date +%s%N)
	HVCORE_BENCH_MACHINE=native "$prog" --exits "${BENCH_KVM_EXITS:-30000}" \
		--rounds "$rounds" --boots "$boots"
	rc=$?
	case $rc in
	0) ran=1; echo "bench-kvm: native run: $(ms "$t0") ms wall" >&2 ;;
	77) echo "bench-kvm: skipped: native: /dev/kvm refused (bench_kvm said why above)" >&2 ;;
	*) echo "bench-kvm: native run failed (status $rc)" >&2; failed=1 ;;
	esac
else
	echo "bench-kvm: skipped: native: /dev/kvm is not there or not readable and writable" >&2
fi

# Nested: the program's JSON lines out, the machine's own lines to stderr.
t0=$(date +%s%N)
out=$(bash "$repo/scripts/kvm-machine.sh" run "$prog" --machine nested-tcg \
	--exits "${BENCH_KVM_NESTED_EXITS:-2000}" --rounds "$rounds" --boots "$boots" 2>&1)
rc=$?
grep '^{' <<<"$out"
grep -v '^{' <<<"$out" | sed 's/^/bench-kvm: nested: /' >&2
case $rc in
0) ran=1; echo "bench-kvm: nested run: $(ms "$t0") ms wall (boot, run, poweroff)" >&2 ;;
77) echo "bench-kvm: skipped: nested-tcg: the nested machine could not be made (above)" >&2 ;;
*) echo "bench-kvm: nested run failed (status $rc)" >&2; failed=1 ;;
esac

[ "$failed" = 0 ] || exit 1
[ "$ran" = 1 ] || exit 77
exit 0
