# tests/e2e/x86-lib.sh: what the Bochs end-to-end tests share. Sourced by
# x86-vmx.sh, x86-vmx-port.sh and x86-vmx-vcpu.sh from the repository's
# top directory (set -euo pipefail is theirs):
#   x86_prepare            skip (exit 77) where a tool is missing; build the
#                          x86-vmx preset
#   x86_boot_twice NAME [VAR=value ...] -- IMAGE
#                          boot IMAGE twice through scripts/x86-vmx.sh with the
#                          environment given (output under build/x86-vmx/NAME-1
#                          and -2), fail unless both shut down cleanly and print
#                          the same; sets out (the transcript) and wall (the
#                          first boot's wall-time line)
#   fail MESSAGE, inorder REGEX
#                          fail with the transcript; the next line matching
#                          REGEX after the previous match (in "$rest", which
#                          the caller sets to "$out" to start over)
x86_prepare() {
	local skip
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
}

x86_boot_twice() {
	local name=$1 env=() full again
	shift
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	full=$(env "${env[@]}" X86_VMX_OUT="build/x86-vmx/$name-1" scripts/x86-vmx.sh "$1") ||
		{ echo "$name: no clean shutdown:" >&2; echo "$full" >&2; exit 1; }
	again=$(env "${env[@]}" X86_VMX_OUT="build/x86-vmx/$name-2" scripts/x86-vmx.sh "$1") ||
		{ echo "$name: second boot failed:" >&2; echo "$again" >&2; exit 1; }
	# The last line is the script's wall-time measurement, not the transcript.
	wall=$(grep -E '^\[bochs\] wall time' <<<"$full")
	out=$(grep -vE '^\[bochs\] ' <<<"$full")
	[ "$out" = "$(grep -vE '^\[bochs\] ' <<<"$again")" ] ||
		{ echo "$name: transcript differs between two boots" >&2; diff <(echo "$out") <(grep -vE '^\[bochs\] ' <<<"$again") >&2; exit 1; }
}

fail() { echo "$1" >&2; echo "--- transcript:" >&2; echo "$out" >&2; exit 1; }
inorder() {
	local n
	n=$(grep -nE -m1 "$1" <<<"$rest" | cut -d: -f1) || fail "missing (in order): $1"
	rest=$(tail -n +"$((n + 1))" <<<"$rest")
}
