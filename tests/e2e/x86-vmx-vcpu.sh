#!/usr/bin/env bash
# tests/e2e/x86-vmx-vcpu.sh: build the VT-x port's vCPU test kernel
# (ports/x86-vmx/test/vcpu) with the x86-vmx preset, boot it twice from a GRUB ISO in Bochs (emulated VT-x) and check the
# transcript: multiboot2 entry in long mode, VMX controls adjusted, VMXON,
# the guest's memory under EPT, the guest attached to the port (and bad
# attaches refused), a RAM page trapped by splitting its EPT page, guest
# memory access checked, the VMCS launched through the vCPU contract, a
# second vCPU started by the guest taking turns with the first (a VMCLEAR
# and VMPTRLD each turn) and finished after its halt, which a vector
# raised while IF=0 does not end; the
# guest's lines printed through port 0xE9 I/O exits (one exit per byte),
# its vmcall seen with its call number and answered, its burst of 1000
# port 0x80 exits timed, then what the guest tests: IN completed and cut
# to its size, MMIO reads (sign-extended too) and a write decoded and
# completed, the trapped page given back, the hypervisor's CPUID leaves,
# its virtual timer delivered through its IDT while it halts, a vector
# injected while IF=0 taken after STI only, MSRs refused with #GP; its
# last HLT, the exit counts by type and the shutdown; both boots print the
# same. (The refusals of CPUs without EPT or VT-x are e2e.x86-vmx-port's.)
# Exits 77 (skipped) where Bochs, GRUB's BIOS image or xorriso are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/e2e/x86-lib.sh
x86_prepare
x86_boot_twice e2e-vcpu X86_VMX_CPUS=1 -- build/x86-vmx/ports/x86-vmx/test/hvcore-x86-vmx-vcpu.elf


rest=$out
line1='hello from a 64-bit guest: this line leaves through port 0xE9'
line2='vmcall ABI_VERSION -> status 0, version 1'
burst=1000
line3="wrote $burst bytes to port 0x80"
inorder '^\[boot\] libhvcore x86-vmx: long mode, booted by multiboot2 '
inorder '^\[vmx\] IA32_VMX_BASIC 0x[0-9a-f]{16}: VMCS revision 0x[0-9a-f]+, 4096 bytes, TRUE controls$'
inorder '^\[vmx\] IA32_FEATURE_CONTROL: '
inorder '^\[vmx\] controls: pin 0x[0-9a-f]{8} proc 0x[0-9a-f]{8} proc2 0x[0-9a-f]{8} exit 0x[0-9a-f]{8} entry 0x[0-9a-f]{8}$'
inorder '^\[vmx\] VMXON ok$'
inorder '^\[guest\] memory: [0-9]+-byte image at 0x100000, page tables at 0x1000 \(1 GiB in 2 MiB pages\), GDT at 0x4000, TSS at 0x4080, stack top 0x1ff000$'
inorder '^\[ept\] guest RAM 0x0-0x1fffff -> host 0x[0-9a-f]+ \(write-back, rwx\): [0-9]+ tables, EPTP 0x[0-9a-f]+$'
inorder '^\[vmx\] I/O bitmap: every port exits, 0xE9 \(the guest.s console\) included: yes'
inorder '^\[trap\] guest RAM page 0x1e0000 trapped: HV_OK, EPT tables ([0-9]+) -> ([0-9]+); port 0x70 passed through and trapped again: HV_OK$'
[[ $(grep -E '^\[trap\] ' <<<"$out") =~ tables\ ([0-9]+)\ -\>\ ([0-9]+) ]] &&
	[ "${BASH_REMATCH[2]}" -eq "$((BASH_REMATCH[1] + 1))" ] || fail "the trap did not split one 2 MiB EPT page"
inorder '^\[guest\] attach again: HV_ERR_EXISTS; NULL: HV_ERR_INVALID_ARG; misaligned bitmap: HV_ERR_ALIGN; id 99: HV_ERR_RANGE$'
inorder '^\[mem\] read across a page end: HV_OK; at unmapped 0x300000: HV_ERR_FAULT; translate of the stack top page: HV_OK; of the trapped page: HV_ERR_FAULT$'
inorder '^\[vmx\] VMCS ready: 64-bit guest at 0x100000, VPID 1, EPT; launching$'
inorder "^\[guest\] $line1\$"
inorder '^\[vmcall\] guest rip 0x[0-9a-f]+: call 0x0 \(ABI_VERSION\) -> status 0, r1 1$'
inorder "^\[guest\] $line2\$"
inorder "^\[guest\] $line3\$"
inorder '^\[vcpu\] second vCPU at rip 0x[0-9a-f]+, stack 0x1f7ff8, arg 7: HV_OK, VPID 2, guest vCPU number 1$'
inorder '^\[vmcall\] guest rip 0x[0-9a-f]+: call 0x7f02 \(test: start vCPU 1\) -> status 0, r1 0$'
inorder '^\[guest\] second vCPU started: status 0$'
# vCPU 1 takes turns with vCPU 0 from here: its lines fall between vCPU 0's.
for want in '^\[vcpu\] vCPU 1 reports arg 7, CPUID 0x40000000 max 0x40000010, 100 writes to port 0x81 seen; inject 0x42 into guest vCPU 1: HV_OK$' \
	'^\[vmcall\] guest rip 0x[0-9a-f]+: call 0x7f03 \(test: report\) -> status 0, r1 0$' \
	'^\[hlt\] vCPU 1 halted at rip 0x[0-9a-f]+ with nothing to wake it; it has nothing left to do$' \
	'^\[vcpu\] vCPU 1 halted for good after [0-9]+ turns; finished$'; do
	grep -qE "$want" <<<"$rest" || fail "missing (vCPU 1): $want"
done
inorder '^\[pio\] in of 4 byte\(s\) at port 0x70: completed with 0xfeedc0de123456a5$'
inorder '^\[pio\] in of 1 byte\(s\) at port 0x71: completed with 0xfeedc0de123456a5$'
inorder '^\[guest\] pio: inl 0x70 -> 0x123456a5, inb 0x71 into rax 0x1122334455667788 -> 0x11223344556677a5$'
inorder '^\[mmio\] read of 4 bytes at 0x300000 into r[0-9]+: completed with 0xcafef00d$'
inorder '^\[mmio\] read of 1 bytes at 0x300008 into r[0-9]+ \(sign-extended\): completed with 0x80$'
inorder '^\[mmio\] write of 2 bytes at 0x300010 from r[0-9]+: 0xbeef$'
inorder '^\[guest\] mmio: read32 0xcafef00d, sign-extended read8 -128, wrote 0xbeef$'
inorder '^\[mmio\] read of 4 bytes at 0x1e0000 into r[0-9]+: completed with 0x7a7a7a7a$'
inorder '^\[vmcall\] guest rip 0x[0-9a-f]+: call 0x7f01 \(test: untrap\) -> status 0, r1 0$'
inorder '^\[guest\] mmio: trapped RAM page read 0x7a7a7a7a, untrapped \(status 0\) reads RAM 0x600dcafe$'
inorder '^\[guest\] cpuid 0x40000000: max 0x40000010 "hvcorehvcore", leaf 1 hypervisor bit 1, 0x40000010 TSC kHz [1-9][0-9]*$'
inorder '^\[hlt\] vCPU 0 halted at rip 0x[0-9a-f]+ until its timer: woke after [0-9]+ us$'
inorder '^\[guest\] timer: vector 0x40 delivered 1 time\(s\) after 1 halt\(s\), not before its deadline; deadline reads 0 after firing$'
inorder '^\[irq\] inject 0x41: HV_OK; vector 0x10: HV_ERR_RANGE; vCPU 5: HV_ERR_NOT_FOUND$'
inorder '^\[vmcall\] guest rip 0x[0-9a-f]+: call 0x7f00 \(test: inject\) -> status 0, r1 0$'
inorder '^\[guest\] inject: 0x41 raised with IF=0 \(status 0\): 0 taken before STI, 1 after$'
inorder '^\[guest\] msr: rdmsr 0x12345678 -> #GP 1, rdmsr x2APIC id -> #GP 1, LVT reserved bit -> #GP 1, error code 0$'
inorder '^\[guest\] all tests ran; halting with interrupts off$'
inorder '^\[hlt\] vCPU 0 halted at rip 0x[0-9a-f]+ with nothing to wake it; it has nothing left to do$'
# One I/O exit per byte the guest wrote to port 0xE9, newlines included,
# one per byte of the burst, the two INs and vCPU 1's 100 writes to port
# 0x81. CPUID, MSR and interrupt-window
# exits are served inside the port and never reach the loop's count.
e9=0
while IFS= read -r l; do e9=$((e9 + ${#l} - 8 + 1)); done < <(grep -E '^\[guest\] ' <<<"$out" | grep -vE '^\[guest\] (memory|attach)')
io=$((e9 + burst + 2 + 100))
inorder "^\[exits\] $((io + 3 + 5 + 4)) in total: HLT 3, VMCALL 5, I/O instruction $io, EPT violation 4\$"
inorder '^\[time\] TSC [0-9]+ MHz \(by the PIT\); power-on to hypervisor entry [0-9]+ us'
inorder '^\[time\] power-on to guest halted: [0-9]+ ms$'
inorder "^\[time\] port 0x80 burst: $burst exits, [0-9]+ TSC cycles each \(exit, decode, skip, entry\), [0-9]+ exits/s\$"
inorder '^\[halt\] done; shutting down$'
[ -z "$rest" ] || fail "lines after the shutdown: $rest"
! grep -qE '^\[panic\]|refused|unexpected|failed|could not' <<<"$out" || fail "a refusal, failure or panic in the transcript"
