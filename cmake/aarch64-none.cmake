# Freestanding AArch64 (EL2 hypervisor code) with Debian's gcc-aarch64-linux-gnu.
# Only lib/ is built; the result must need nothing but the port contract.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# No FP/SIMD in the hypervisor (guest FP state need not be saved on every
# exit), no outline-atomics helpers from libgcc, no stack protector runtime.
set(CMAKE_C_FLAGS_INIT "-ffreestanding -nostdlib -fno-builtin -mgeneral-regs-only -mno-outline-atomics -fno-stack-protector -fno-pic -fno-common")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
