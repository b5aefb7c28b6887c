#!/usr/bin/env bash
# scripts/bench.sh <build-dir>: run every benchmark program, then the KVM
# bench (scripts/bench-kvm.sh), then the callgrind instruction counts of the
# scheduler hot paths and of a route-rule change (below); JSON lines out.
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

# The KVM bench (bench/kvm): natively where /dev/kvm works, and in the nested
# QEMU TCG machine where its tools are; a machine with neither skips it (77).
kvm_rc=0
bash "$(dirname "$0")/bench-kvm.sh" "$build" || kvm_rc=$?
[ "$kvm_rc" = 0 ] || [ "$kvm_rc" = 77 ] || { echo "bench: bench-kvm.sh failed ($kvm_rc)" >&2; exit 1; }

# Instructions per operation of the scheduler hot paths, counted by callgrind:
# `bench_sched --ops <sched> <pick|wake> <n> <k>` sets up n runnable entities
# on one CPU and performs k operations; run at two k, the difference of the
# total instruction counts (Ir) over the difference of k is the cost of one
# operation with the set-up cancelled, the same on a busy machine as on an
# idle one. Names as in bench_sched's median_ns lines (pick: the
# hv_sched_schedule() round trip; wake: hv_sched_block() + hv_sched_wake()).
sched=$build/bench/bench_sched
if ! command -v valgrind >/dev/null 2>&1; then
	echo "bench: valgrind not installed; skipping the callgrind instruction counts" \
		"(scripts/deps.sh installs it)" >&2
	exit 0
fi
[ -x "$sched" ] || { echo "bench: $sched missing" >&2; exit 1; }
k1=1000
k2=11000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() { # <sched> <what> <n> <k>: total Ir of one run
	valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$sched" --ops "$@" \
		>/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
	awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$tmp/out"
}
# wake_policy is the scheduler's own share of wake (its dequeue, enqueue and
# preemption test, called directly); loop is the bench loop alone, which
# every wake figure includes. wake - wake_policy is what the domain's
# guarantees cost; scripts/sched-guarantees.sh takes them apart.
for op in fp.pick fp.wake fp.wake_policy rr.wake rr.wake_policy bvt.pick bvt.wake \
	bvt.wake_policy fp.loop; do
	for n in 10 100 1000 10000; do
		a=$(ir "${op%.*}" "${op#*.}" "$n" "$k1")
		b=$(ir "${op%.*}" "${op#*.}" "$n" "$k2")
		[ -n "$a" ] && [ -n "$b" ] || { echo "bench: no callgrind total for $op n=$n" >&2; exit 1; }
		awk -v op="$op" -v n="$n" -v a="$a" -v b="$b" -v k1="$k1" -v k2="$k2" 'BEGIN {
			name = op; sub(/^[a-z]+\.loop$/, "loop", name)
			printf "{\"bench\": \"sched.%s\", \"n\": %d, \"instructions\": %.0f}\n", name, n, (b - a) / (k2 - k1) }'
	done
done

# Instructions of one publication of a route-rule change (evroute.publish:
# hv_evroute_rule_retarget() of one of n range rules + hv_evroute_quiescent(),
# the rule pool sized for 10,000 rules whatever n), counted the same way:
# `bench_evroute --ops publish <n> <k>` sets up n rules and publishes k times.
evroute=$build/bench/bench_evroute
[ -x "$evroute" ] || { echo "bench: $evroute missing" >&2; exit 1; }
e1=100
e2=1100
evroute_ir() { # <n> <k>: total Ir of one run
	valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$evroute" --ops publish "$@" \
		>/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
	awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$tmp/out"
}
for n in 10 1000 10000; do
	a=$(evroute_ir "$n" "$e1")
	b=$(evroute_ir "$n" "$e2")
	[ -n "$a" ] && [ -n "$b" ] || { echo "bench: no callgrind total for evroute.publish n=$n" >&2; exit 1; }
	awk -v n="$n" -v a="$a" -v b="$b" -v k1="$e1" -v k2="$e2" 'BEGIN {
		printf "{\"bench\": \"evroute.publish\", \"n\": %d, \"instructions\": %.0f}\n", n, (b - a) / (k2 - k1) }'
done

# What each guarantee of a block + wake pair costs (the domain's locking,
# checks, feedback, ... and BVT's own), counted the same way on scratch
# builds with the guarantee taken out: docs/sched-cost.md reads these lines.
python3 "$(dirname "$0")/sched-guarantees.py"
