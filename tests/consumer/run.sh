#!/usr/bin/env bash
# tests/consumer/run.sh <build-dir> <scratch-dir>
# Installs the build into a scratch prefix and builds tests/consumer against
# it twice: with find_package(libhvcore CONFIG) and with pkg-config.
set -euo pipefail
build=${1:?build dir}
scratch=${2:?scratch dir}
src=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null

echo "== find_package(libhvcore CONFIG)"
cmake -S "$src" -B "$scratch/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/cmake" >/dev/null
"$scratch/cmake/consumer"

echo "== pkg-config libhvcore libhvcore-port-host"
libdir=$(find "$prefix" -name libhvcore.pc -printf '%h\n' | head -n 1)
export PKG_CONFIG_PATH=$libdir
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$scratch/consumer-pc" "$src/main.c" \
	$(pkg-config --cflags --libs libhvcore libhvcore-port-host)
"$scratch/consumer-pc"

echo "== installed guides and examples"
doc=$prefix/share/doc/libhvcore
for f in getting-started.md porting.md mainpage.md examples/host-sim/main.c examples/arm64-virt/hv/main.c; do
	[ -f "$doc/$f" ] || { echo "not installed: $doc/$f" >&2; exit 1; }
done
# The newcomer's template builds from the installed tree alone and runs.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$scratch/host-sim" "$doc/examples/host-sim/main.c" \
	$(pkg-config --cflags --libs libhvcore libhvcore-port-host)
"$scratch/host-sim" >/dev/null
echo "installed host-sim example built and ran"
