#!/usr/bin/env bash
# tests/e2e/host-sim.sh <demo binary>: run the host-machine example (the
# core's run loop on two machine CPUs) and check its transcript: it exits 0,
# prints the same thing twice, and tells every element of the story: the
# RTOS's tasks become VPs through VP_CREATE; the control task sleeps on a word
# and the sensor wakes it three times; the other guest's priority-1 request is
# refused with HV_ERR_RANGE and its timed VP_BLOCK ends in HV_ERR_TIMEOUT; the
# RTOS's priority-1 task preempts the other guest's VP; the clock's MMIO range
# is served by the parallel VMM; a stray access stops that VP only (the rest of
# the RTOS runs on after it); every guest ends and the machine stops.
set -euo pipefail
bin=${1:?demo binary}
out=$("$bin")
again=$("$bin")
[ "$out" = "$again" ] || { echo "demo output differs between two runs" >&2; exit 1; }
fail() { echo "$1" >&2; echo "$out" >&2; exit 1; }
check() { grep -Eq "$1" <<<"$out" || fail "missing from transcript: $1"; }
count() { [ "$(grep -Ec "$1" <<<"$out")" -eq "$2" ] || fail "expected $2 lines of: $1"; }
last_line() { local n; n=$(grep -En "$1" <<<"$out" | tail -n 1 | cut -d: -f1) || true; echo "${n:-0}"; }
ts='^\[ +[0-9]+\.[0-9]{3} ms\] (cpu[01]|boot) '
check "${ts}\[guest\] rtos: thin, priorities 1-3"
check "${ts}\[guest\] linux: full, priorities 4-6"
check "${ts}\[vp\] rtos/vp#[0-9]+ creates rtos/vp#[0-9]+ for task ctl \(p1, "
check "${ts}\[vp\] rtos/vp#[0-9]+ creates rtos/vp#[0-9]+ for task sensor \(p2, "
count '\[hvcall\] rtos/vp#[0-9]+ WAIT: sleeps' 3
count '\[hvcall\] rtos/vp#[0-9]+ WAKE -> HV_OK, 1 woken' 3
count '\[hvcall\] rtos/vp#[0-9]+ WAIT returned HV_OK' 3
check '\[hvcall\] linux/vp#[0-9]+ VP_CREATE at p1 -> HV_ERR_RANGE$'
check '\[hvcall\] linux/vp#[0-9]+ VP_BLOCK returned HV_ERR_TIMEOUT$'
check 'cpu1 \[sched\] rtos/vp#[0-9]+ \(p1\) preempts linux/vp#[0-9]+ \(p4\)$'
check '\[route\] clock: linux/vp#[0-9]+ reads COUNT = [0-9]+ us$'
check '\[fault\] rtos/vp#[0-9]+ stopped: mmio read of 4 bytes at 0x40000000 '
[ "$(last_line '\[fault\] rtos/')" -lt "$(last_line 'ctl: woken')" ] ||
	fail "the RTOS's other tasks did not run on after the stray access"
count '\[vp\] rtos/vp#[0-9]+ exits$' 3
check '\[guest\] rtos ended$'
check '\[guest\] linux ended$'
check '\[halt\] every guest ended: stop$'
grep -Eq "${ts}\[halt\] machine stopped: HV_OK$" <<<"$(tail -n 1 <<<"$out")" ||
	fail "the machine did not stop cleanly"
echo "host-sim transcript: $(wc -l <<<"$out") lines, all checks passed"
