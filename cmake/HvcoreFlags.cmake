# Warning flags for everything the project compiles, and sanitizer flags for
# host builds. Consumers of the installed package never see these: the
# interface target exists only in the build tree.
add_library(hvcore_flags INTERFACE)
target_compile_options(hvcore_flags INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
  -Wundef -Wpointer-arith -Wformat=2 -Wold-style-definition -Wcast-qual
  -Wmissing-declarations -Wredundant-decls -Werror)

if(HVCORE_SANITIZE AND NOT HVCORE_FREESTANDING)
  set(_san -fsanitize=${HVCORE_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${_san})
  add_link_options(-fsanitize=${HVCORE_SANITIZE})
endif()

# Coverage (the `coverage` preset, `make coverage`): gcov instrumentation
# for everything the host build compiles. -fprofile-update=atomic keeps the
# counters exact in the threaded tests. The loadable scheduler images opt
# out (lib/sched/modules: they link with -nostdlib, no gcov runtime) with
# -fno-profile-arcs -fno-test-coverage, which override the two options below
# but not --coverage: so not --coverage when compiling.
option(HVCORE_COVERAGE "Build with gcov instrumentation (host builds)" OFF)
if(HVCORE_COVERAGE AND NOT HVCORE_FREESTANDING)
  add_compile_options(-fprofile-arcs -ftest-coverage -fprofile-update=atomic)
  add_link_options(--coverage)
endif()
