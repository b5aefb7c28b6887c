# The README's commands. Everything real happens in CMake and ctest; this
# file only names the steps.
#   make demo    the main job: build the arm64 example hypervisor and boot it
#                in QEMU (make demo-sim: the host-machine example; make
#                demo-x86: the VT-x example, booted from a GRUB ISO in Bochs;
#                make demo-kvm: the hosted VMM on /dev/kvm, or in the nested
#                KVM machine where there is none)
#   make check   everything CI checks (build, unit, lint, docs, consumer,
#                freestanding, sanitizers, coverage floor)
#   make coverage  gcov line/branch coverage of lib/ and the ports' host-testable
#                parts (gcovr, HTML in build/coverage/coverage); fails below
#                the floor in scripts/coverage-floor
#   make tsan    ThreadSanitizer run of the threaded tests (scheduler stress, manager, host port,
#                event router stress, timer queue and hypercall timer threads)
#   make bench   benchmarks, one JSON object per line
#   make docs    API docs in build/dev/docs/html
#   make lint    clang-format, clang-tidy, cppcheck
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 120) each, on
#                its corpus (tests/fuzz/corpus/<name>/ as seeds; what it finds
#                stays in build/dev); make fuzz-merge folds that into the
#                repository's corpora (-merge=1), only when asked to
.PHONY: deps dev demo demo-sim demo-x86 demo-kvm arm64 x86 check bench bench-compare docs lint asan tsan coverage fuzz fuzz-merge clean

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

x86: deps
	cmake --preset x86-vmx
	cmake --build --preset x86-vmx

demo-x86: x86
	@X86_VMX_CPUS=2 X86_VMX_IPS=200000000 X86_VMX_CONSOLE=com2 X86_VMX_DISK=1 X86_VMX_TIMEOUT=300 bash scripts/x86-vmx.sh

demo-sim: dev
	./build/dev/examples/host-sim/hvcore-host-sim

demo-kvm: dev
	@bash scripts/kvm-vmm.sh

asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

# ThreadSanitizer builds only the tests it runs (the whole tree under
# TSan takes long). Where the kernel lets a process turn ASLR off, ctest runs
# under `setarch -R`: with large mmap randomisation (vm.mmap_rnd_bits 32)
# TSan aborts with "unexpected memory mapping" (gcc 12 runtime, newer
# kernels); elsewhere it runs as is.
TSAN_RUN = $(shell setarch $$(uname -m) -R true >/dev/null 2>&1 && echo setarch $$(uname -m) -R)

tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan --target unit_sched_stress unit_sched_mgr unit_host_threads unit_host_machine unit_evroute_stress unit_timer_timer_threads unit_hvcall_hvcall_timer_threads
	$(TSAN_RUN) ctest --preset tsan

# The unit tests and the host-sim example under gcov (build/coverage); fails
# when lib/'s line coverage is below scripts/coverage-floor.
coverage: deps
	@bash scripts/coverage.sh

# Sanitizer and coverage runs first, so the last summary printed is the full
# suite.
check: dev
	$(MAKE) --no-print-directory asan
	$(MAKE) --no-print-directory tsan
	$(MAKE) --no-print-directory coverage
	ctest --preset dev

bench: deps
	cmake --preset release
	cmake --build --preset release
	@bash scripts/bench.sh build/release

docs: dev
	cmake --build --preset dev --target docs

FUZZ_SECONDS ?= 120
# Stop a target earlier once it has run this many inputs (empty: no limit).
FUZZ_RUNS ?=

# Medians of bench_sched against BASE (default HEAD~1), built and run in turns.
BASE ?= HEAD~1
bench-compare: deps
	@bash scripts/bench-compare.sh $(BASE) 5 bench_sched

fuzz: dev
	@FUZZ_RUNS=$(FUZZ_RUNS) bash scripts/fuzz.sh build/dev $(FUZZ_SECONDS)

fuzz-merge: dev
	@bash scripts/fuzz.sh build/dev 0 merge

lint: dev
	ctest --preset dev -L lint

clean:
	rm -rf build
