#!/usr/bin/env bash
# tests/e2e/host-sim.sh <demo binary>: run the host-simulator demo and check
# its transcript: it exits 0, prints the same thing twice, tasks become VPs,
# the refused priority-1 request, an RTOS priority-1 task preempting a task
# of another guest, and every ended task's handle stale with no VP left.
set -euo pipefail
bin=${1:?demo binary}
out=$("$bin")
again=$("$bin")
[ "$out" = "$again" ] || { echo "demo output differs between two runs" >&2; exit 1; }
check() {
	grep -Eq "$1" <<<"$out" || { echo "missing from transcript: $1" >&2; echo "$out" >&2; exit 1; }
}
check '^\[ +[0-9]+\.[0-9]{3} ms\] cpu[01] vp create rtos/ctl prio=1 -> handle 0x[0-9a-f]+'
check 'vp create linux/turbo prio=1 -> HV_ERR_RANGE'
check 'switch linux/[a-z]+\(p[2-4]\) -> rtos/ctl\(p1\) reason=preempt'
check 'vp delete rtos/ctl handle 0x[0-9a-f]+ \(task ended\) -> HV_OK'
check '^handles of ended tasks: ([0-9]+) of \1 stale \(HV_ERR_STALE_HANDLE\), 0 VPs live$'
echo "host-sim transcript: $(wc -l <<<"$out") lines, all checks passed"
