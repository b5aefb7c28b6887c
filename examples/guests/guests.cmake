# The story's guests (rtos, linux, svc, peer) for any example hypervisor:
# the story code once in examples/guests/<name>/, what depends on the
# architecture in examples/guests/arch/<arch>/ (start-up, linker script,
# time, and linux's timer, interrupts and devices).
#
#   include(${PROJECT_SOURCE_DIR}/examples/guests/guests.cmake)
#   hvcore_example_guests(<arch> <prefix>)
#
# <arch> is arm64 or x86_64. Each guest is a freestanding program linked at
# guest-physical 0x40000000 and turned into a flat binary (objcopy -O binary)
# that the hypervisor copies to the start of the guest's RAM and enters there.
# The function sets, in the caller's scope:
#   <prefix>_RTOS_BIN, <prefix>_LINUX_BIN, <prefix>_SVC_BIN, <prefix>_PEER_BIN
#                        absolute paths of the four flat binaries
#   <prefix>_STORE_BIN   (x86_64 only) the store guest: an ATA disk driver
#                        for the boards that pass a PC's disk through
#   <prefix>_BINS        the paths, in that order
#   <prefix>_BVT_ELF     the BVT scheduler image (lib/sched/modules) the svc
#                        guest carries in its memory
#   <prefix>_DIGEST_H    a header defining BVT_DIGEST: the SHA-256 of that
#                        image as a uint8_t[32] initializer, for the
#                        hypervisor's loader allowlist
#   <prefix>_INCLUDE_DIR the directory holding it (#include "bvt_digest.h")
#   <prefix>_TARGETS     the custom targets that make all of the above: add
#                        them with add_dependencies() to what embeds them
#
# The targets are made once per architecture in a build, in the directory of
# the first call (hvcore_guest_<arch>_<name>: the ELF, ..._bin: the flat
# binary, hvcore_guest_<arch>_bvt_digest); a later call, from another example
# of the same architecture, gets the same files. Targets are global, and the
# Ninja generator the presets use knows every output across directories.
#
# examples/guests has a CMakeLists.txt of its own only so that a port build
# whose example does not link these guests yet still builds them (see there).

# The flags of a freestanding guest, per architecture: no libc, no FP/SIMD
# registers (the hypervisors keep no FP state for guests), no stack
# protector runtime, no position independence (linked at a fixed address).
# x86_64 also: no red zone (linux's timer interrupt lands on the running
# thread's stack at CPL 0), the small code model (everything lives below
# 2 GiB: the image at 0x40000000, the devices and shared pages too), no
# unwind tables and no CET end-branch markers.
set(_hvcore_guest_flags_arm64 -ffreestanding -nostdlib -fno-builtin -mgeneral-regs-only
  -mstrict-align -fno-stack-protector -fno-pic -O2 -Wall -Wextra -Werror)
set(_hvcore_guest_flags_x86_64 -ffreestanding -nostdlib -fno-builtin -mgeneral-regs-only
  -mno-red-zone -fno-stack-protector -fno-pic -fno-pie -mcmodel=small
  -fno-asynchronous-unwind-tables -fcf-protection=none -O2 -Wall -Wextra -Werror)
set(_hvcore_guest_ldflags_arm64 -nostdlib -static -Wl,--build-id=none -Wl,--no-warn-rwx-segments)
set(_hvcore_guest_ldflags_x86_64 -nostdlib -static -no-pie -Wl,--build-id=none
  -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)

# One guest: <name>/*.c|S, arch/<arch>/<name>/*.c|S, arch/<arch>/*.c|S, common/*.c.
function(_hvcore_example_guest arch name out_dir)
  set(_d ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(_a ${_d}/arch/${arch})
  set(_exe hvcore_guest_${arch}_${name})
  file(GLOB _srcs CONFIGURE_DEPENDS ${_d}/${name}/*.c ${_d}/${name}/*.S)
  file(GLOB _arch_srcs CONFIGURE_DEPENDS ${_a}/${name}/*.c ${_a}/${name}/*.S)
  file(GLOB _rt CONFIGURE_DEPENDS ${_a}/*.S)
  file(GLOB _common CONFIGURE_DEPENDS ${_d}/common/*.c ${_a}/*.c)
  add_executable(${_exe} ${_srcs} ${_arch_srcs} ${_rt} ${_common})
  target_include_directories(${_exe} PRIVATE ${_d}/common ${_a} ${_a}/${name}
    ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${_exe} PRIVATE ${_hvcore_guest_flags_${arch}})
  target_link_options(${_exe} PRIVATE ${_hvcore_guest_ldflags_${arch}} -T ${_a}/guest.ld)
  if(NOT HVCORE_FREESTANDING)
    # A host build (a hosted VMM's guests) may instrument everything
    # (HVCORE_SANITIZE, HVCORE_COVERAGE): a guest has no runtime for it.
    target_compile_options(${_exe} PRIVATE -fno-sanitize=all -fno-profile-arcs -fno-test-coverage)
    target_link_options(${_exe} PRIVATE -fno-sanitize=all)
  endif()
  set_target_properties(${_exe} PROPERTIES LINK_DEPENDS ${_a}/guest.ld SUFFIX .elf
    OUTPUT_NAME ${name} RUNTIME_OUTPUT_DIRECTORY ${out_dir})
  add_custom_command(OUTPUT ${out_dir}/${name}.bin
    COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:${_exe}> ${out_dir}/${name}.bin
    DEPENDS ${_exe} VERBATIM)
  add_custom_target(${_exe}_bin ALL DEPENDS ${out_dir}/${name}.bin)
endfunction()

function(hvcore_example_guests arch prefix)
  if(NOT arch MATCHES "^(arm64|x86_64)$")
    message(FATAL_ERROR "hvcore_example_guests: no guests for architecture '${arch}' (arm64, x86_64)")
  endif()
  set(_d ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set(_names rtos linux svc peer)
  if(arch STREQUAL "x86_64")
    list(APPEND _names store) # a disk driver: the PC's ATA disk (arch/x86_64/store)
  endif()
  get_property(_made GLOBAL PROPERTY HVCORE_GUESTS_${arch}_DIR)
  if(NOT _made)
    set(_out ${CMAKE_CURRENT_BINARY_DIR}/guests-${arch})
    foreach(_n IN LISTS _names)
      _hvcore_example_guest(${arch} ${_n} ${_out})
    endforeach()

    # The service VM carries the BVT scheduler module in its image; the
    # hypervisor's loader allowlist holds that image's digest.
    get_property(_bvt_elf GLOBAL PROPERTY HVCORE_SCHED_MODULE_bvt)
    if(NOT _bvt_elf)
      message(FATAL_ERROR "the svc guest needs the BVT scheduler module (lib/sched/modules)")
    endif()
    set(_svc hvcore_guest_${arch}_svc)
    target_compile_definitions(${_svc} PRIVATE HVSCHED_BVT_ELF="${_bvt_elf}")
    set_source_files_properties(${_d}/svc/image.S PROPERTIES
      OBJECT_DEPENDS ${_bvt_elf})
    add_dependencies(${_svc} hvcore_sched_module_bvt)
    set(_digest_h ${_out}/gen/bvt_digest.h)
    add_custom_command(OUTPUT ${_digest_h}
      COMMAND ${CMAKE_COMMAND} -DIN=${_bvt_elf} -DOUT=${_digest_h} -DNAME=BVT_DIGEST
              -P ${_d}/digest.cmake
      DEPENDS ${_bvt_elf} hvcore_sched_module_bvt ${_d}/digest.cmake VERBATIM)
    add_custom_target(hvcore_guest_${arch}_bvt_digest ALL DEPENDS ${_digest_h})

    set_property(GLOBAL PROPERTY HVCORE_GUESTS_${arch}_DIR ${_out})
    set_property(GLOBAL PROPERTY HVCORE_GUESTS_${arch}_BVT_ELF ${_bvt_elf})
  endif()
  get_property(_out GLOBAL PROPERTY HVCORE_GUESTS_${arch}_DIR)
  get_property(_bvt GLOBAL PROPERTY HVCORE_GUESTS_${arch}_BVT_ELF)
  set(_bins)
  set(_targets hvcore_guest_${arch}_bvt_digest)
  foreach(_n IN LISTS _names)
    string(TOUPPER ${_n} _up)
    set(${prefix}_${_up}_BIN ${_out}/${_n}.bin PARENT_SCOPE)
    list(APPEND _bins ${_out}/${_n}.bin)
    list(APPEND _targets hvcore_guest_${arch}_${_n}_bin)
  endforeach()
  set(${prefix}_BINS ${_bins} PARENT_SCOPE)
  set(${prefix}_BVT_ELF ${_bvt} PARENT_SCOPE)
  set(${prefix}_DIGEST_H ${_out}/gen/bvt_digest.h PARENT_SCOPE)
  set(${prefix}_INCLUDE_DIR ${_out}/gen PARENT_SCOPE)
  set(${prefix}_TARGETS ${_targets} PARENT_SCOPE)
endfunction()
