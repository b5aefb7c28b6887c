# Freestanding x86_64 (VMX root-mode hypervisor code) with the host gcc.
# Only lib/ is built; the result must need nothing but the port contract.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# No red zone (interrupts use the current stack), no SSE/x87 state in the
# hypervisor, no stack protector runtime, no PIC/PLT.
set(CMAKE_C_FLAGS_INIT "-ffreestanding -nostdlib -fno-builtin -mno-red-zone -mgeneral-regs-only -fno-stack-protector -fno-pic -fno-pie -fno-common -mcmodel=kernel")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
