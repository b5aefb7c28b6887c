#!/usr/bin/env bash
# scripts/kvm-machine.sh: a Linux machine with /dev/kvm and VFIO, nested in
# QEMU TCG, for hosts that have neither (CI, this team's machines).
#
#   scripts/kvm-machine.sh [options] run <static-program> [args...]
#   scripts/kvm-machine.sh [options] shell
#   scripts/kvm-machine.sh prepare
#
# The machine: Debian's cloud kernel (linux-image-6.1.0-N-cloud-amd64, the
# version linux-image-cloud-amd64 points at; fetched with `apt-get download`,
# unpacked with `dpkg-deb -x`, never installed) booted by
# qemu-system-x86_64 -M q35 -accel tcg,thread=single -cpu EPYC,+svm,+npt
# with an emulated Intel IOMMU and a PCI 16550 (pci-serial, 1b36:0002).
# One TCG thread for all the machine's vCPUs: with QEMU's multi-threaded
# TCG the nested guests went wrong about one run in eight (a KVM guest that
# triple-faulted at a random instruction after its vCPU moved between the
# machine's CPUs, or a machine CPU stuck in its guest for minutes: the
# kernel's soft-lockup watchdog), and not once in 40 runs of the same test
# with thread=single, which costs this 2-core host little. Its initramfs is busybox-static,
# the kernel's modules irqbypass kvm kvm-amd vfio vfio_iommu_type1
# vfio_virqfd vfio-pci-core vfio-pci (loaded in that order: the package has
# no modules.dep, so this script checks each module's `depends=` against the
# order), an /init, and the program. /init loads the modules, waits for
# /dev/kvm, with --vfio moves the pci-serial from the serial driver to
# vfio-pci (driver_override, unbind, drivers_probe), runs the program as
# root, prints "kvm-machine: exit <status>" and powers off. This script
# prints the program's output and exits with its status.
#
# The kernel, modules and base initramfs are cached in $KVM_MACHINE_DIR
# (default build/kvm-machine); a run appends a small cpio holding the
# program. Nothing is downloaded outside the Debian archive. When the kernel
# package cannot be fetched (no network) or qemu/busybox/cpio are missing,
# it exits 77 (a skip for ctest) and says why.
#
# Options (before the command):
#   --vfio          rebind the pci-serial to vfio-pci before the program runs
#                   (the program gets KVM_MACHINE_VFIO_BDF in its environment)
#   --smp N         vCPUs of the machine (default 2)
#   --timeout S     wall-clock bound for one boot (default 120)
#   --dmesg         print the kernel's kvm/vfio/iommu lines after the run
#   --pci-serial F  what the guest kernel's pci-serial sends goes to file F on
#                   this host (default: nowhere)
#   --ttyS1 F       give the machine a second ISA serial port (its /dev/ttyS1)
#                   whose output goes to file F on this host
#   --buffer        the program writes to memory and its output is printed
#                   when it ends: no console (an emulated 16550, slow under
#                   TCG) in the way of a program whose timing matters
#   -v              print the whole console, kernel boot log included
# Environment: KVM_MACHINE_DIR (cache), KVM_MACHINE_KERNEL (a package name,
# e.g. linux-image-6.1.0-57-cloud-amd64, instead of the archive's current),
# KVM_MACHINE_ACCEL (QEMU's -accel, default tcg,thread=single).
# Exit status: the program's; 77 skip (missing tool, no network);
# 124 the boot timed out; 125 the machine failed before the program ran.
# The program's own exit status must stay below 124 to be told apart.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${KVM_MACHINE_DIR:-$repo/build/kvm-machine}
modules=(irqbypass kvm kvm-amd vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci)

vfio=0 smp=2 timeout_s=120 dmesg=0 verbose=0 pci_serial= ttys1= buffer=0
while [ $# -gt 0 ]; do
	case "$1" in
	--vfio) vfio=1 ;;
	--smp) smp=${2:?--smp needs a count}; shift ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift ;;
	--dmesg) dmesg=1 ;;
	--pci-serial) pci_serial=${2:?--pci-serial needs a file}; shift ;;
	--ttyS1) ttys1=${2:?--ttyS1 needs a file}; shift ;;
	--buffer) buffer=1 ;;
	-v) verbose=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "kvm-machine: unknown option $1 (--help)" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
cmd=${1:-}
[ $# -gt 0 ] && shift

skip() { echo "kvm-machine: skipped: $1" >&2; exit 77; }
die() { echo "kvm-machine: $1" >&2; exit 125; }

need_tools() {
	local t missing=()
	for t in qemu-system-x86_64 cpio dpkg-deb apt-get objcopy readelf timeout flock; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	[ -x /bin/busybox ] && file_is_static /bin/busybox || missing+=("busybox (static)")
	[ "${#missing[@]}" -eq 0 ] || skip "${missing[*]} not found (scripts/deps.sh installs qemu-system-x86, busybox-static, cpio)"
}

file_is_static() {
	# A dynamic ELF has a PT_INTERP program header; a static one has none.
	! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

# The kernel package: linux-image-cloud-amd64's dependency, the 6.1.0-N
# cloud kernel the archive offers now.
kernel_package() {
	if [ -n "${KVM_MACHINE_KERNEL:-}" ]; then
		echo "$KVM_MACHINE_KERNEL"
		return
	fi
	local p
	p=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-cloud-amd64\)$/\1/p' | head -n 1)
	if [ -z "$p" ]; then
		p=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
			grep -E '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' | sort -V | tail -n 1)
	fi
	echo "$p"
}

# Fills $dir/kernel (vmlinuz, version, the modules) once, and rebuilds
# $dir/base.cpio whenever this script (which holds /init) changes.
prepare() {
	need_tools
	mkdir -p "$dir"
	# Two builds (presets, ctest runs) may share the cache: one fills it.
	exec 9>"$dir/.lock"
	flock 9
	[ -f "$dir/kernel/vmlinuz" ] || fetch_kernel
	local stamp
	stamp=$(sha256sum "$0" | cut -d' ' -f1)
	if [ -f "$dir/base.cpio" ] && [ "$(cat "$dir/base.stamp" 2>/dev/null)" = "$stamp" ]; then
		exec 9>&-
		return 0
	fi
	# The initramfs: busybox, the modules, /init.
	local ird
	ird=$(mktemp -d "$dir/initramfs.XXXXXX")
	mkdir -p "$ird"/{bin,dev,proc,sys,tmp,test}
	cp /bin/busybox "$ird/bin/busybox"
	cp -r "$dir/kernel/modules" "$ird/modules"
	printf '%s\n' "${modules[@]}" >"$ird/modules/order"
	write_init "$ird/init"
	chmod 755 "$ird/init"
	(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$dir/base.cpio.new"
	rm -rf "$ird"
	mv "$dir/base.cpio.new" "$dir/base.cpio"
	echo "$stamp" >"$dir/base.stamp"
	exec 9>&-
}

fetch_kernel() {
	local pkg work ver m f deps d seen=" "
	pkg=$(kernel_package)
	if [ -z "$pkg" ]; then
		if [ "$(id -u)" -eq 0 ]; then
			echo "kvm-machine: no package lists; running apt-get update" >&2
			apt-get update -qq >&2 || skip "apt-get update failed (no network?); cannot fetch the kernel package"
			pkg=$(kernel_package)
		fi
		[ -n "$pkg" ] || skip "apt knows no linux-image-6.1.0-*-cloud-amd64 (run apt-get update as root)"
	fi
	work=$(mktemp -d "$dir/fetch.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	echo "kvm-machine: fetching $pkg from the Debian archive" >&2
	if ! (cd "$work" && apt-get download -q "$pkg" >"$work/apt.log" 2>&1); then
		if [ "$(id -u)" -eq 0 ]; then
			# Stale lists may name a version the archive dropped: refresh once.
			apt-get update -qq >&2 || true
			pkg=$(kernel_package)
			(cd "$work" && apt-get download -q "$pkg" >"$work/apt.log" 2>&1) || true
		fi
		ls "$work"/*.deb >/dev/null 2>&1 || {
			sed 's/^/  apt: /' "$work/apt.log" >&2
			skip "apt-get download $pkg failed (no network or archive unreachable)"
		}
	fi
	dpkg-deb -x "$work"/*.deb "$work/root"
	ver=$(ls "$work/root/lib/modules")
	[ -n "$ver" ] && [ -f "$work/root/boot/vmlinuz-$ver" ] || die "$pkg holds no vmlinuz/modules pair"
	# The package has no modules.dep (depmod makes it at install time): check
	# each module's own depends= against the load order instead. Modules
	# are stored decompressed: busybox insmod takes a plain .ko.
	mkdir -p "$work/kernel/modules"
	for m in "${modules[@]}"; do
		f=$(find "$work/root/lib/modules/$ver" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) | head -n 1)
		[ -n "$f" ] || die "$pkg has no module $m"
		case "$f" in
		*.xz) xz -dc "$f" >"$work/kernel/modules/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$work/kernel/modules/$m.ko" ;;
		*) cp "$f" "$work/kernel/modules/$m.ko" ;;
		esac
		deps=$(objcopy -O binary --only-section=.modinfo "$work/kernel/modules/$m.ko" /dev/stdout |
			tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' ')
		for d in $deps; do
			case "$seen" in *" ${d//_/-} "*) ;; *) die "module $m needs $d, which is not loaded before it" ;; esac
		done
		seen+="${m//_/-} "
	done
	cp "$work/root/boot/vmlinuz-$ver" "$work/kernel/vmlinuz"
	echo "$pkg $ver" >"$work/kernel/version"
	rm -rf "$dir/kernel"
	mv "$work/kernel" "$dir/kernel"
	rm -rf "$work"
	trap - EXIT
	echo "kvm-machine: cached $pkg ($ver) in $dir/kernel" >&2
}

write_init() {
	cat >"$1" <<'EOF'
#!/bin/busybox sh
# The machine's /init (written by scripts/kvm-machine.sh).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
out() { echo "kvm-machine: $*"; }
fail() { out "FAIL $*"; dmesg | tail -n 15 | sed 's/^/kvm-machine: dmesg: /'; poweroff -f; }
arg() { sed -n "s/.*kvm_machine\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
out "init: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs"
for m in $(cat /modules/order); do
	insmod /modules/$m.ko || fail "insmod $m"
done
i=0
while [ ! -c /dev/kvm ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd (is SVM in the CPU model?)"
out "modules loaded: $(tr '\n' ' ' </modules/order)"
if [ "$(arg vfio)" = 1 ]; then
	bdf=
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/vendor)" = 0x1b36 ] && [ "$(cat $d/device)" = 0x0002 ] && bdf=${d##*/} && break
	done
	[ -n "$bdf" ] || fail "no pci-serial (1b36:0002) on the PCI bus"
	d=/sys/bus/pci/devices/$bdf
	was=$(basename "$(readlink $d/driver)" 2>/dev/null)
	echo vfio-pci >$d/driver_override
	[ -e $d/driver ] && echo $bdf >$d/driver/unbind
	echo $bdf >/sys/bus/pci/drivers_probe
	now=$(basename "$(readlink $d/driver)" 2>/dev/null)
	[ "$now" = vfio-pci ] || fail "pci-serial $bdf did not bind to vfio-pci (driver: ${now:-none})"
	grp=$(basename "$(readlink $d/iommu_group)")
	out "pci-serial $bdf: ${was:-no driver} -> vfio-pci, IOMMU group $grp ($(ls $d/iommu_group/devices | wc -l) device(s)), /dev/vfio/$grp"
	export KVM_MACHINE_VFIO_BDF=$bdf
fi
set --
while IFS= read -r a; do set -- "$@" "$a"; done </test/args
out "run: /test/prog $*"
if [ "$(arg buffer)" = 1 ]; then
	# Bounded inside, so that a program that hangs still shows what it said.
	timeout -s KILL "$(arg ptimeout)" /test/prog "$@" >/tmp/prog.out 2>&1
	rc=$?
	cat /tmp/prog.out
	[ "$rc" = 137 ] && out "the program was killed after $(arg ptimeout) s (--timeout less 30 s)"
else
	/test/prog "$@"
	rc=$?
fi
[ "$(arg dmesg)" = 1 ] && dmesg | grep -iE 'kvm|svm|vfio|dmar|iommu' | sed 's/^/kvm-machine: dmesg: /'
out "exit $rc"
poweroff -f
EOF
}

qemu_args() {
	local append="console=ttyS0 intel_iommu=on panic=-1 loglevel=${1:-1} mitigations=off kvm_machine.vfio=$vfio kvm_machine.dmesg=$dmesg kvm_machine.buffer=$buffer kvm_machine.ptimeout=$((timeout_s > 60 ? timeout_s - 30 : timeout_s / 2))"
	printf '%s\n' -M q35 -accel "${KVM_MACHINE_ACCEL:-tcg,thread=single}" -cpu EPYC,+svm,+npt -smp "$smp" -m 512 -nodefaults -display none -no-reboot \
		-device intel-iommu -kernel "$dir/kernel/vmlinuz" -append "$append"
	if [ -n "$pci_serial" ]; then
		printf '%s\n' -chardev "file,id=pciser,path=$pci_serial" -device pci-serial,chardev=pciser
	else
		printf '%s\n' -chardev null,id=pciser -device pci-serial,chardev=pciser
	fi
}

case "$cmd" in
prepare)
	prepare
	cat "$dir/kernel/version"
	;;
run)
	prog=${1:?usage: kvm-machine.sh [options] run <static-program> [args...]}
	shift
	[ -f "$prog" ] || { echo "kvm-machine: no program $prog" >&2; exit 2; }
	file_is_static "$prog" || { echo "kvm-machine: $prog is dynamically linked; the machine has no libc: link it with -static" >&2; exit 2; }
	prepare
	run=$(mktemp -d "$dir/run.XXXXXX")
	trap 'rm -rf "$run"' EXIT
	mkdir -p "$run/root/test"
	cp "$prog" "$run/root/test/prog"
	chmod 755 "$run/root/test/prog"
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; else : ; fi >"$run/root/test/args"
	(cd "$run/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$run/prog.cpio"
	cat "$dir/base.cpio" "$run/prog.cpio" >"$run/initrd.cpio"
	mapfile -t qa < <(qemu_args 1)
	t0=$(date +%s%N)
	set +e
	serials=(-serial "file:$run/console")
	[ -n "$ttys1" ] && serials+=(-serial "file:$ttys1")
	timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "${qa[@]}" -initrd "$run/initrd.cpio" \
		"${serials[@]}" </dev/null >"$run/qemu.log" 2>&1
	qrc=$?
	set -e
	t1=$(date +%s%N)
	tr -d '\r' <"$run/console" >"$run/console.txt" || true
	if [ "$verbose" = 1 ]; then
		cat "$run/console.txt"
	else
		# From /init's first line on: the kernel's boot log stays out.
		sed -n '/^kvm-machine: init: /,$p' "$run/console.txt" | grep -vE '^kvm-machine: exit [0-9]+$|^\[ *[0-9.]+\] reboot: Power down$' || true
	fi
	wall_ms=$(((t1 - t0) / 1000000))
	rc=$(sed -n 's/^kvm-machine: exit \([0-9]*\)$/\1/p' "$run/console.txt" | tail -n 1)
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "kvm-machine: timed out after ${timeout_s}s (boot+program); console tail:" >&2
		tail -n 20 "$run/console.txt" | sed 's/^/  | /' >&2
		exit 124
	fi
	if [ -z "$rc" ]; then
		echo "kvm-machine: the program did not finish (qemu status $qrc); console tail:" >&2
		tail -n 30 "$run/console.txt" | sed 's/^/  | /' >&2
		sed 's/^/  qemu: /' "$run/qemu.log" | grep -v 'TCG doesn.t support requested feature' >&2 || true
		exit 125
	fi
	echo "kvm-machine: $(cut -d' ' -f1 "$dir/kernel/version"), -smp $smp$([ "$vfio" = 1 ] && echo ', vfio'): program exit $rc, wall time ${wall_ms} ms (boot, run, poweroff)"
	exit "$rc"
	;;
shell)
	prepare
	run=$(mktemp -d "$dir/run.XXXXXX")
	trap 'rm -rf "$run"' EXIT
	mkdir -p "$run/root/test"
	printf '#!/bin/sh\necho "kvm-machine: shell; poweroff -f to leave"\nexec setsid cttyhack sh\n' >"$run/root/test/prog"
	chmod 755 "$run/root/test/prog"
	: >"$run/root/test/args"
	(cd "$run/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$run/prog.cpio"
	cat "$dir/base.cpio" "$run/prog.cpio" >"$run/initrd.cpio"
	mapfile -t qa < <(qemu_args 4)
	qemu-system-x86_64 "${qa[@]}" -initrd "$run/initrd.cpio" -serial mon:stdio
	;;
*)
	echo "usage: scripts/kvm-machine.sh [--vfio] [--smp N] [--timeout S] [--dmesg] [-v] run <static-program> [args...]" >&2
	echo "       scripts/kvm-machine.sh [options] shell | prepare    (--help for more)" >&2
	exit 2
	;;
esac
