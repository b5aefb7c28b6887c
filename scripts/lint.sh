#!/usr/bin/env bash
# scripts/lint.sh <format|tidy|cppcheck|headers> <build-dir>
# One lint pass over the library code (lib/, ports/, include/). Any finding
# makes it exit non-zero; ctest runs each pass as a test labelled "lint".
set -euo pipefail
tool=${1:?usage: lint.sh format|tidy|cppcheck|headers BUILD_DIR}
build=${2:-build/dev}
cd "$(dirname "$0")/.."

mapfile -t c_files < <(git ls-files -co --exclude-standard -- 'lib/*.c' 'ports/*.c' | sort)
mapfile -t h_files < <(git ls-files -co --exclude-standard -- 'include/*.h' 'lib/*.h' 'ports/*.h' | sort)

case "$tool" in
format)
	clang-format --dry-run --Werror "${c_files[@]}" "${h_files[@]}"
	echo "clang-format: ${#c_files[@]} sources and ${#h_files[@]} headers clean"
	;;
tidy)
	[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json: configure with the dev preset" >&2; exit 1; }
	# Only sources that are part of this host build are in the database;
	# arch-specific port code is linted by its own cross build.
	mapfile -t in_db < <(for f in "${c_files[@]}"; do
		grep -q "\"file\": \"$PWD/$f\"" "$build/compile_commands.json" && echo "$f"; done)
	# clang does not know GCC's -fno-tree-loop-distribute-patterns (mem.c).
	db=$(mktemp -d)
	trap 'rm -rf "$db"' EXIT
	sed 's/ -fno-tree-loop-distribute-patterns//g' "$build/compile_commands.json" >"$db/compile_commands.json"
	clang-tidy --quiet -p "$db" "${in_db[@]}"
	echo "clang-tidy: ${#in_db[@]} sources clean"
	;;
cppcheck)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem -I include -I ports/host/include \
		"${c_files[@]}"
	echo "cppcheck: ${#c_files[@]} sources clean"
	;;
headers)
	# Doxygen documents a header's free functions only if the file itself is
	# documented, so a header without @file would hide undocumented symbols.
	bad=0
	for h in "${h_files[@]}"; do
		case "$h" in lib/*) continue ;; esac
		grep -q '@file' "$h" || { echo "$h: no @file comment" >&2; bad=1; }
	done
	[ "$bad" = 0 ] && echo "headers: every public header has a @file comment"
	exit "$bad"
	;;
*)
	echo "unknown lint pass: $tool" >&2
	exit 2
	;;
esac
