#!/usr/bin/env bash
# Installs the Debian 12 packages libhvcore needs, only those missing.
# `make check` and `make demo` run this first; on a fresh machine it is all
# the set-up there is. Not root and something missing: prints the command.
set -euo pipefail

pkgs=(
	build-essential cmake ninja-build pkg-config git   # host toolchain
	libcmocka-dev                                        # unit tests
	doxygen graphviz                                     # API docs
	clang clang-format clang-tidy cppcheck               # lint, fuzzing
	libclang-rt-14-dev                                   # sanitizer/fuzzer runtimes
	libzydis-dev                                         # test only: fuzz.x86_insn's reference decoder
	gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu     # freestanding arm64
	qemu-system-arm                                      # arm64 example hypervisor
	bochs bochsbios vgabios bochs-term                   # x86-vmx example: Bochs with VT-x, headless (term)
	grub-pc-bin xorriso mtools                           # x86-vmx example: its GRUB boot ISO
	linux-libc-dev                                       # linux/kvm.h, linux/vfio.h
	qemu-system-x86 busybox-static cpio                  # kvm-machine: nested Linux with /dev/kvm (TCG)
	gcovr                                                # make coverage
	valgrind                                             # make bench (callgrind)
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run this and try again:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
