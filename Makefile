# The README's commands. Everything real happens in CMake and ctest; this
# file only names the steps.
#   make demo    the main job: build the arm64 example hypervisor and boot it
#                in QEMU (make demo-sim: the host-simulator scenario)
#   make check   everything CI checks (build, unit, lint, docs, consumer,
#                freestanding, sanitizers)
#   make bench   benchmarks, one JSON object per line
#   make docs    API docs in build/dev/docs/html
#   make lint    clang-format, clang-tidy, cppcheck
.PHONY: deps dev demo demo-sim arm64 check bench docs lint asan clean

deps:
	@bash scripts/deps.sh

dev: deps
	cmake --preset dev
	cmake --build --preset dev

arm64: deps
	cmake --preset aarch64-none
	cmake --build --preset aarch64-none

demo: arm64
	@bash scripts/arm64-virt.sh

demo-sim: dev
	./build/dev/examples/host-sim/hvcore-host-sim

asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

# Sanitizer unit run first, so the last summary printed is the full suite.
check: dev
	$(MAKE) --no-print-directory asan
	ctest --preset dev

bench: deps
	cmake --preset release
	cmake --build --preset release
	@bash scripts/bench.sh build/release

docs: dev
	cmake --build --preset dev --target docs

lint: dev
	ctest --preset dev -L lint

clean:
	rm -rf build
