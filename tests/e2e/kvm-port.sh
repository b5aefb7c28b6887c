#!/usr/bin/env bash
# tests/e2e/kvm-port.sh <hvcore-kvm-port-test>: run the hosted KVM port's
# own test program (ports/linux-kvm/test) in the nested KVM machine
# (scripts/kvm-machine.sh: Debian's cloud kernel with kvm-amd on QEMU's
# emulated SVM) and check that each of its checks printed a PASS line:
# 4 VPs of one guest on 2 pCPU threads each writing 1..K in order with the
# vCPUs moving between the threads (vps), a vector raised from pCPU 0 for
# a VP spinning on pCPU 1 (kick), the guest's TSC-deadline timer waking a
# halted VP no earlier than its deadline (timer), MMIO outside every slot
# (mmio) and the port's refusals (refusals). Prints those lines, with their
# measured numbers, and the machine's wall time.
#
# The machine is QEMU TCG in real time (a KVM exit costs tens of us), so
# the kick and timer figures are printed, not bounded: their checks are
# delivery, and never early.
# Exits 77 (skipped) where qemu, busybox-static or cpio are missing or the
# kernel package cannot be fetched.
set -euo pipefail
prog=$(realpath "${1:?usage: tests/e2e/kvm-port.sh <hvcore-kvm-port-test>}")
cd "$(dirname "$0")/../.."
skip() { echo "skipped: $1 (scripts/deps.sh installs it)"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found"
command -v cpio >/dev/null || skip "cpio not found"
[ -x /bin/busybox ] || skip "busybox (busybox-static) not found"

set +e
full=$(scripts/kvm-machine.sh --buffer --timeout 300 run "$prog" 2>&1)
rc=$?
set -e
[ "$rc" = 77 ] && { echo "$full"; exit 77; }
fail() { echo "$full" >&2; echo "FAILED: $1" >&2; exit 1; }
for check in vps kick timer mmio refusals; do
	grep -qE "^PASS $check: " <<<"$full" || fail "no PASS line for the check '$check'"
done
! grep -qE '^FAIL ' <<<"$full" || fail "a check failed"
grep -qE '^ok: 5 of 5 checks passed' <<<"$full" || fail "the program did not report all checks passed"
[ "$rc" = 0 ] || fail "the nested machine or the test program exited with status $rc"
echo "kvm port test (nested KVM): all checks passed"
grep -E '^(PASS|ok:) |^kvm-machine: .*wall time' <<<"$full" | sed 's/^/  /'
