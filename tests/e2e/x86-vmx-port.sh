#!/usr/bin/env bash
# tests/e2e/x86-vmx-port.sh: build the VT-x port's test kernel
# (ports/x86-vmx/test) with the x86-vmx preset, boot it twice in Bochs with
# two CPUs and check the transcript: both CPUs online in VMX root mode with
# their APIC ids (from the ACPI MADT), every timer deadline on both CPUs hit
# and never early, in the order armed (TSC-deadline mode, then one-shot
# mode on CPU 0), a replaced deadline and a cancelled
# one not firing, idle woken by the timer, by a kick from the other CPU and
# by a kick to itself, irq_save/restore, hv_port_exec_protect() making a
# page RX (its code runs on both CPUs, a write to it faults and is caught)
# and RW again and refusing bad arguments; both boots print the same. Then
# hv_x86_init()'s refusals on a CPU without EPT and one without VT-x.
# Exits 77 (skipped) where Bochs, GRUB's BIOS image or xorriso are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/x86-lib.sh
x86_prepare
img=build/x86-vmx/ports/x86-vmx/test/hvcore-x86-vmx-port.elf
x86_boot_twice e2e-port X86_VMX_CPUS=2 -- "$img"


rest=$out
timer='requested ([0-9]+) ns, observed ([0-9]+) ns, [0-9]+ ns late, [0-9]+ wake-up\(s\): not early$'
inorder '^\[boot\] libhvcore x86-vmx port test: long mode, booted by multiboot2$'
inorder '^\[cpu\] cpu0 online in VMX root mode: APIC id 0, VMXON ok; CPUs: 2 \(ACPI MADT\)$'
inorder '^\[time\] TSC [0-9]+ MHz \(by the PIT\); timer: local APIC \(x2APIC\), (TSC-deadline|one-shot) mode$'
inorder '^\[cpu\] cpu1 online in VMX root mode: APIC id 1, VMXON ok \(INIT-SIPI-SIPI to online: [0-9]+ us\)$'
for d in 50 1000 250 3000 10; do
	inorder "^\[timer\] cpu0 \+$d us: $timer"
done
inorder "^\[timer\] cpu0 \+5 ms replaced by \+400 us: $timer"
inorder '^\[timer\] cpu0 deadline 1 us in the past: fired after 1 wake-up\(s\)$'
inorder '^\[idle\] cpu0: \+500 us armed then cancelled; idle woke on a kick from cpu1 after [0-9]+ us'
inorder '^\[timer\] cpu0 to one-shot mode: HV_OK, one-shot; APIC timer [0-9]+ kHz$'
for d in 20 700 2000; do
	inorder "^\[timer\] cpu0 one-shot \+$d us: $timer"
done
inorder '^\[timer\] cpu0 back to TSC-deadline mode: HV_OK$'
inorder "^\[timer\] cpu1 \+700 us: $timer"
inorder "^\[timer\] cpu1 \+30 us: $timer"
inorder '^\[idle\] cpu1: idle woke on a kick from cpu0 '
inorder '^\[idle\] cpu0: kicked itself; the next idle returned with kick=1$'
inorder '^\[irq\] save with IF=1 -> IF=0; nested save/restore keeps IF=0; restore -> IF=1: ok$'
inorder '^\[exec\] page size 4096; arena 8 KiB at 0x[0-9a-f]+: rw- \(declared RW\)$'
inorder '^\[exec\] first page RX: HV_OK \(r-x\), second page rw-; the code returns 42 on cpu0$'
inorder '^\[exec\] the same code on cpu1 returns 42$'
inorder '^\[exec\] write to the RX page: faulted \(page fault caught\), code still returns 42$'
inorder '^\[exec\] RW, cpu1 reads it, RX again while cpu1 spins with IF=0: HV_OK; cpu1 runs it: 42 \(stale-TLB faults retried on cpu1: [0-9]+\)$'
inorder '^\[exec\] back to RW: HV_OK \(rw-\), write ok$'
inorder '^\[exec\] refused: misaligned HV_ERR_ALIGN, empty HV_ERR_ALIGN, past the arena HV_ERR_PERM, outside it HV_ERR_PERM, unknown protection HV_ERR_INVALID_ARG$'
inorder '^\[irqs\] cpu0: timer [0-9]+ \(early, re-armed: [0-9]+\), kick [0-9]+, spurious 0$'
inorder '^\[irqs\] cpu1: timer [0-9]+ \(early, re-armed: [0-9]+\), kick [0-9]+, spurious 0$'
inorder '^\[halt\] done, all checks passed; shutting down$'
[ -z "$rest" ] || fail "lines after the shutdown: $rest"
! grep -qE '^\[panic\]|^\[FAIL\]|EARLY|refused: [^m]' <<<"$out" || fail "a failure, early timer or panic in the transcript"

# Deadlines in the order armed: each cpu0 expiry after the one before.
prev=0
while read -r obs; do
	[ "$obs" -gt "$prev" ] || fail "cpu0's timer expiries are out of order ($obs after $prev)"
	prev=$obs
done < <(grep -E '^\[timer\] cpu0 ' <<<"$out" | grep -oE 'observed [0-9]+' | cut -d' ' -f2)

# hv_x86_init() refuses a CPU without what the port needs, by name, and
# changes nothing: no CPU started, a clean shutdown.
refused() {
	local model=$1 want=$2 got
	got=$(X86_VMX_OUT=build/x86-vmx/e2e-port-$model X86_VMX_CPU=$model X86_VMX_CPUS=2 scripts/x86-vmx.sh "$img") ||
		{ echo "$model: no clean shutdown after the refusal:" >&2; echo "$got" >&2; exit 1; }
	got=$(grep -vE '^\[bochs\] ' <<<"$got")
	grep -qxF "[vmx] refused: $want" <<<"$got" || { echo "$model: expected the refusal '$want':" >&2; echo "$got" >&2; exit 1; }
	[ "$(tail -n 1 <<<"$got")" = "[halt] this CPU cannot run the hypervisor; shutting down" ] ||
		{ echo "$model: expected the refusal to end the run:" >&2; echo "$got" >&2; exit 1; }
	! grep -qE '^\[cpu\]|^\[timer\]' <<<"$got" || { echo "$model: went on after the refusal" >&2; exit 1; }
}
refused core2_penryn_t9600 'the CPU lacks a VMX control the port needs: secondary controls: enable EPT'
refused phenom_8650_toliman 'CPUID.1:ECX.VMX is 0: this CPU has no VT-x'
echo "x86-vmx port test: $(wc -l <<<"$out") lines, identical on two boots, all checks passed; $wall"
echo "x86-vmx port test refusals: no EPT (core2_penryn_t9600) and no VT-x (phenom_8650_toliman) refused by hv_x86_init()"
