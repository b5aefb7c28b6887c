#!/usr/bin/env bash
# scripts/x86-vmx.sh [image]: put the x86-vmx example hypervisor on a GRUB
# ISO and boot it in Bochs (emulated VT-x, corei7_skylake_x), headless;
# print the hypervisor's console (COM1) and the wall time of the run.
#
# Bochs has no headless display in Debian's build: it runs with
# `display_library: term` (curses) under a pseudo-terminal made by
# `script`, and its own debugger (compiled in) is told to continue at once.
# The transcript is COM1 written to a file (`com1: mode=file`): only the
# hypervisor's bytes. The port 0xE9 hack would do too, but Bochs writes its
# bytes to its own stdout, between its banner, the debugger's lines and its
# exit message. The guest's port 0xE9 writes never reach Bochs: they are
# VM exits the hypervisor turns into console lines.
# The hypervisor ends the run by writing "Shutdown" to port 0x8900. Bochs
# exits with status 1 whatever happened, so this script succeeds when the
# transcript ends with the hypervisor's "[halt] ...; shutting down" line
# (also after it refused the CPU), and fails otherwise (a triple fault
# stops Bochs without a reset: reset_on_triple_fault=0).
#
# `clock: sync=none` with a fixed time0 makes the emulated clock follow the
# instruction count, so two runs print the same.
#
# Environment: X86_VMX_TIMEOUT (seconds, default 60), X86_VMX_OUT (a
# directory to keep the ISO, bochsrc, transcript and Bochs log in; default
# build/x86-vmx/x86-vmx-run), X86_VMX_CPU (Bochs CPU model, default
# corei7_skylake_x; e.g. core2_penryn_t9600, VT-x without EPT, shows the
# port's refusal), X86_VMX_CPUS (Bochs's CPU count, default 1; the port
# test, ports/x86-vmx/test, wants 2).
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/x86-vmx/examples/x86-vmx/hvcore-x86-vmx.elf}
[ -f "$img" ] || { echo "no image $img: cmake --preset x86-vmx && cmake --build --preset x86-vmx" >&2; exit 1; }
for t in bochs grub-mkrescue xorriso mformat script; do
	command -v "$t" >/dev/null || { echo "x86-vmx: $t not found (scripts/deps.sh installs it)" >&2; exit 1; }
done
out=${X86_VMX_OUT:-build/x86-vmx/x86-vmx-run}
rm -rf "$out"
mkdir -p "$out/iso/boot/grub"
out=$(cd "$out" && pwd)
cp "$img" "$out/iso/boot/hvcore-x86-vmx.elf"
cp ports/x86-vmx/grub.cfg "$out/iso/boot/grub/grub.cfg"
# The BIOS GRUB image only (i386-pc): Bochs boots the CD through its BIOS.
grub-mkrescue -o "$out/hvcore-x86-vmx.iso" -d /usr/lib/grub/i386-pc "$out/iso" >"$out/grub-mkrescue.log" 2>&1 ||
	{ cat "$out/grub-mkrescue.log" >&2; exit 1; }

# A disk on the secondary ATA channel (ports 0x170-0x177, 0x376), for the
# example's store guest: 2 cylinders, 16 heads, 63 sectors (1008 KiB), zeros.
disk=
if [ -n "${X86_VMX_DISK:-}" ]; then
	dd if=/dev/zero of="$out/disk.img" bs=512 count=$((2 * 16 * 63)) status=none
	disk="ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15
ata1-master: type=disk, path=$out/disk.img, mode=flat, cylinders=2, heads=16, spt=63"
fi

cat >"$out/bochsrc" <<RC
megs: 64
cpu: model=${X86_VMX_CPU:-corei7_skylake_x}, count=${X86_VMX_CPUS:-1}, ips=${X86_VMX_IPS:-100000000}, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$out/hvcore-x86-vmx.iso, status=inserted
$disk
boot: cdrom
display_library: term
port_e9_hack: enabled=1
com1: enabled=1, mode=file, dev=$out/com1.txt
com2: enabled=1, mode=file, dev=$out/com2.txt
clock: sync=none, time0=946684800
mouse: enabled=0
speaker: enabled=0
log: $out/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
RC
echo c >"$out/cmds"

start=$(date +%s%N)
rc=0
# script gives Bochs's curses display a terminal; its output is the screen, not kept.
timeout "${X86_VMX_TIMEOUT:-60}" script -qec "bochs -q -f $out/bochsrc -rc $out/cmds" /dev/null \
	</dev/null >"$out/screen.txt" 2>&1 || rc=$?
end=$(date +%s%N)
console=${X86_VMX_CONSOLE:-com1}
tr -d '\r' <"$out/$console.txt" >"$out/transcript.txt" 2>/dev/null || : >"$out/transcript.txt"
cat "$out/transcript.txt"
# Bochs's own error-level messages (e.g. "VMENTER FAIL: RFLAGS[1] cleared",
# which names the VM-entry check that failed) go to stderr: the
# hypervisor's transcript only has the exit reason.
grep -E '^[0-9]+e\[' "$out/bochs.log" 2>/dev/null | sed -E 's/^[0-9]+e\[[^]]*\] */[bochs] error: /' >&2 || :
ms=$(((end - start) / 1000000))
echo "[bochs] wall time $((ms / 1000)).$(printf %03d $((ms % 1000))) s from start to exit (Bochs status $rc)"
if [ "$rc" = 124 ]; then
	echo "x86-vmx: Bochs still running after ${X86_VMX_TIMEOUT:-60} s; log in $out/bochs.log" >&2
	exit 1
fi
tail -n 1 "$out/transcript.txt" | grep -qE '^\[halt\] .*; shutting down$' ||
	{ echo "x86-vmx: the hypervisor did not shut down cleanly; Bochs log: $out/bochs.log" >&2; exit 1; }
