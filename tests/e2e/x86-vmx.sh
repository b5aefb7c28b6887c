#!/usr/bin/env bash
# tests/e2e/x86-vmx.sh: build the x86-vmx example with the x86-vmx preset,
# boot it twice from a GRUB ISO in Bochs (emulated VT-x) and check the
# transcript: multiboot2 entry in long mode, VMX controls adjusted, VMXON,
# the guest's memory under EPT, the VMCS launched, the guest's lines
# printed through port 0xE9 I/O exits (one exit per byte), its vmcall seen
# with its call number and answered, its burst of 1000 port 0x80 exits
# timed, its HLT exit, the exit counts by type and the shutdown; both boots print the same. Then the refusals: on a
# Bochs CPU with VT-x but no EPT (Core 2 Penryn) the port names the missing
# control, and on one without VT-x (AMD Phenom) it says so; both shut down
# cleanly. Exits 77 (skipped) where Bochs, GRUB's BIOS image or xorriso are
# missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
skip() { echo "skipped: $1 (scripts/deps.sh installs it)"; exit 77; }
command -v bochs >/dev/null || skip "bochs not found"
command -v grub-mkrescue >/dev/null || skip "grub-mkrescue not found"
[ -d /usr/lib/grub/i386-pc ] || skip "GRUB's BIOS image (grub-pc-bin) not found"
command -v xorriso >/dev/null || skip "xorriso not found"
command -v mformat >/dev/null || skip "mformat (mtools) not found"
[ -f /usr/share/bochs/BIOS-bochs-latest ] || skip "the Bochs BIOS (bochsbios) not found"
[ -f /usr/share/vgabios/vgabios.bin ] || skip "the VGA BIOS (vgabios) not found"

cmake --preset x86-vmx >/dev/null
cmake --build --preset x86-vmx >/dev/null

run() {
	X86_VMX_OUT=build/x86-vmx/e2e-$1 X86_VMX_CPU=${2:-corei7_skylake_x} scripts/x86-vmx.sh
}
full=$(run 1) || { echo "the hypervisor did not shut Bochs down cleanly:" >&2; echo "$full" >&2; exit 1; }
again=$(run 2) || { echo "second boot failed:" >&2; echo "$again" >&2; exit 1; }
# The last line is the script's wall-time measurement, not the transcript.
wall=$(grep -E '^\[bochs\] wall time' <<<"$full")
out=$(grep -vE '^\[bochs\] ' <<<"$full")
[ "$out" = "$(grep -vE '^\[bochs\] ' <<<"$again")" ] ||
	{ echo "transcript differs between two boots" >&2; diff <(echo "$out") <(grep -vE '^\[bochs\] ' <<<"$again") >&2; exit 1; }

fail() { echo "$1" >&2; echo "--- transcript:" >&2; echo "$out" >&2; exit 1; }
rest=$out
inorder() {
	local n
	n=$(grep -nE -m1 "$1" <<<"$rest" | cut -d: -f1) || fail "missing (in order): $1"
	rest=$(tail -n +"$((n + 1))" <<<"$rest")
}
line1='hello from a 64-bit guest: this line leaves through port 0xE9'
line2='vmcall ABI_VERSION -> status 0, version 1'
burst=1000
line3="wrote $burst bytes to port 0x80; halting"
inorder '^\[boot\] libhvcore x86-vmx: long mode, booted by multiboot2 '
inorder '^\[vmx\] IA32_VMX_BASIC 0x[0-9a-f]{16}: VMCS revision 0x[0-9a-f]+, 4096 bytes, TRUE controls$'
inorder '^\[vmx\] IA32_FEATURE_CONTROL: '
inorder '^\[vmx\] controls: pin 0x[0-9a-f]{8} proc 0x[0-9a-f]{8} proc2 0x[0-9a-f]{8} exit 0x[0-9a-f]{8} entry 0x[0-9a-f]{8}$'
inorder '^\[vmx\] VMXON ok$'
inorder '^\[ept\] guest RAM 0x0-0x1fffff -> host 0x[0-9a-f]+ \(write-back, rwx\): [0-9]+ tables, EPTP 0x[0-9a-f]+$'
inorder '^\[vmx\] I/O bitmap: every port exits, 0xE9 \(the guest.s console\) included: yes'
inorder '^\[vmx\] VMCS ready: 64-bit guest at 0x100000, VPID 1, EPT; launching$'
inorder "^\[guest\] $line1\$"
inorder '^\[vmcall\] guest rip 0x[0-9a-f]+: call 0x0 \(ABI_VERSION\) -> status 0, r1 1$'
inorder "^\[guest\] $line2\$"
inorder "^\[guest\] $line3\$"
inorder '^\[hlt\] guest halted at rip 0x[0-9a-f]+'
# One I/O exit per byte the guest wrote to port 0xE9, newlines included,
# and one per byte of the burst.
io=$(( ${#line1} + 1 + ${#line2} + 1 + ${#line3} + 1 + burst ))
inorder "^\[exits\] $((io + 2)) in total: HLT 1, VMCALL 1, I/O instruction $io\$"
inorder '^\[time\] TSC [0-9]+ MHz \(by the PIT\); power-on to hypervisor entry [0-9]+ us'
inorder '^\[time\] power-on to guest halted: [0-9]+ ms$'
inorder "^\[time\] port 0x80 burst: $burst exits, [0-9]+ TSC cycles each \(exit, decode, skip, entry\), [0-9]+ exits/s\$"
inorder '^\[halt\] done; shutting down$'
[ -z "$rest" ] || fail "lines after the shutdown: $rest"
! grep -qE '^\[panic\]|refused|unexpected|failed' <<<"$out" || fail "a refusal, failure or panic in the transcript"

# Refusals: the CPU is named wanting, nothing is launched, Bochs is shut down.
refused() {
	local model=$1 want=$2 got
	got=$(run "$model" "$model") || { echo "$model: no clean shutdown after the refusal:" >&2; echo "$got" >&2; exit 1; }
	got=$(grep -vE '^\[bochs\] ' <<<"$got")
	grep -qxF "[vmx] refused: $want" <<<"$got" || { echo "$model: expected the refusal '$want':" >&2; echo "$got" >&2; exit 1; }
	[ "$(tail -n 1 <<<"$got")" = "[halt] this CPU cannot run the hypervisor; shutting down" ] ||
		{ echo "$model: expected the refusal to end the run:" >&2; echo "$got" >&2; exit 1; }
	! grep -qE 'VMXON ok|launching|^\[guest\]' <<<"$got" || { echo "$model: went on after the refusal" >&2; exit 1; }
}
refused core2_penryn_t9600 'the CPU lacks a VMX control the port needs: secondary controls: enable EPT'
refused phenom_8650_toliman 'CPUID.1:ECX.VMX is 0: this CPU has no VT-x'
echo "x86-vmx transcript: $(wc -l <<<"$out") lines, identical on two boots, all checks passed; $wall"
echo "x86-vmx refusals: no EPT (core2_penryn_t9600) and no VT-x (phenom_8650_toliman) refused by name"
