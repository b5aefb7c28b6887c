#!/usr/bin/env bash
# scripts/kvm-vmm.sh [hvcore-kvm-vmm options]: run the hosted VMM
# (examples/kvm-vmm, built by the dev preset) on this machine's /dev/kvm,
# or, where that does not work or KVM_VMM_NESTED=1, in the nested KVM
# machine of scripts/kvm-machine.sh with its PCI 16550 given to linux by
# VFIO (linux's COM1 bytes are then printed after the log).
set -euo pipefail
cd "$(dirname "$0")/.."
vmm=build/dev/examples/kvm-vmm/hvcore-kvm-vmm
[ -x "$vmm" ] || { echo "kvm-vmm: $vmm not built (make dev; needs x86_64 and linux/kvm.h)" >&2; exit 2; }
if [ "${KVM_VMM_NESTED:-0}" != 1 ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	exec "$vmm" "$@"
fi
echo "kvm-vmm: no usable /dev/kvm here (or KVM_VMM_NESTED=1): running in the nested KVM machine" >&2
com1=$(mktemp)
trap 'rm -f "$com1"' EXIT
rc=0
scripts/kvm-machine.sh --vfio --buffer --pci-serial "$com1" --timeout 300 run "$vmm" --vfio auto "$@" || rc=$?
echo "--- linux's COM1 (the machine's PCI 16550, by VFIO):"
tr -d '\r' <"$com1"
exit "$rc"
