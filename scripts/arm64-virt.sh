#!/usr/bin/env bash
# scripts/arm64-virt.sh [image]: boot the arm64-virt example hypervisor in
# QEMU (virt board, EL2 enabled, GICv3, 2 CPUs, TCG) and print its consoles.
# QEMU exits when the hypervisor powers off through PSCI SYSTEM_OFF.
#
# -icount makes the guest clock follow the instruction count instead of the
# host's: timer interrupts and the two CPUs' interleaving no longer depend
# on how busy the host is, so the transcript is the same on every run, on
# every machine. Drop it (ARM64_VIRT_REALTIME=1) to run against real time.
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:-build/aarch64-none/examples/arm64-virt/hvcore-arm64-virt.elf}
[ -f "$img" ] || { echo "no image $img: cmake --preset aarch64-none && cmake --build --preset aarch64-none" >&2; exit 1; }
clock=(-icount shift=0,sleep=off)
[ "${ARM64_VIRT_REALTIME:-0}" = 1 ] && clock=()
# Two consoles: the hypervisor's log on a PCI 16550 (pci-serial; highmem=off
# puts the PCIe ECAM below 4 GiB where the port looks for it) and the PL011,
# which the hypervisor passes through to the linux guest. Both go to stdout,
# or the PL011 to the file ARM64_VIRT_UART names.
if [ -n "${ARM64_VIRT_UART:-}" ]; then
	consoles=(-chardev stdio,id=hvlog -chardev "file,id=pl011,path=$ARM64_VIRT_UART" -serial chardev:pl011)
else
	consoles=(-chardev stdio,id=hvlog,mux=on -serial chardev:hvlog)
fi
exec timeout "${ARM64_VIRT_TIMEOUT:-60}" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3,highmem=off -cpu cortex-a57 -smp 2 -m 256M \
	"${clock[@]}" -display none -nic none -no-reboot -monitor none \
	"${consoles[@]}" -device pci-serial,chardev=hvlog \
	-kernel "$img"
