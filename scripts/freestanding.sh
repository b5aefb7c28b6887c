#!/usr/bin/env bash
# Configure and build lib/ with one freestanding cross preset. The build's
# last step is the undefined-symbol check, so a libc call anywhere in lib/
# fails here. Then prove the check itself bites: an archive that calls
# strlen and printf must be refused.
set -euo pipefail
preset=${1:?usage: freestanding.sh aarch64-none|x86_64-none}
cd "$(dirname "$0")/.."
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
for a in build/"$preset"/lib/*/libhvcore_*.a; do
	printf '%s: %s bytes\n' "$a" "$(stat -c %s "$a")"
done

cache=build/$preset/CMakeCache.txt
cc=$(sed -n "s/^set(CMAKE_C_COMPILER \(.*\))$/\1/p" "cmake/$preset.cmake")
nm=$(sed -n 's/^CMAKE_NM:[A-Z]*=//p' "$cache")
ar=$(sed -n 's/^CMAKE_AR:[A-Z]*=//p' "$cache")
neg=build/$preset/symcheck-negative
mkdir -p "$neg"
cat >"$neg/bad.c" <<'C'
int printf(const char *, ...);
unsigned long strlen(const char *);
int hv_bad(const char *s);
int hv_bad(const char *s) { return printf("%lu", strlen(s)); }
C
"$cc" -ffreestanding -c "$neg/bad.c" -o "$neg/bad.o"
rm -f "$neg/libbad.a"
"$ar" qc "$neg/libbad.a" "$neg/bad.o"
if cmake -DNM="$nm" -DARCHIVES="$neg/libbad.a" -DPORT_DIR="$PWD/include/libhvcore/port" \
	-P cmake/symcheck.cmake >"$neg/out.txt" 2>&1; then
	echo "symcheck accepted an archive that calls printf and strlen" >&2
	exit 1
fi
grep -q 'printf' "$neg/out.txt" && grep -q 'strlen' "$neg/out.txt" || {
	echo "symcheck failed without naming the bad symbols:" >&2
	cat "$neg/out.txt" >&2
	exit 1
}
echo "symcheck: refuses an archive that calls printf and strlen (as it must)"
