# Freestanding builds: after lib/ is built, list every archive's undefined
# symbols and fail on any that is not part of the port contract. The allowed
# set is read from the port headers themselves, plus the four functions GCC
# requires of any freestanding environment.
set(_archives)
set(_deps)
foreach(_m IN LISTS HVCORE_MODULE_LINK_ORDER)
  list(APPEND _archives $<TARGET_FILE:hvcore_${_m}>)
  list(APPEND _deps hvcore_${_m})
endforeach()
# Port code built freestanding beside lib/ (e.g. ports/x86-vmx's pure part)
# registers its archives here; it may use lib/ and the port contract only.
get_property(_extra GLOBAL PROPERTY HVCORE_SYMCHECK_TARGETS)
foreach(_t IN LISTS _extra)
  list(APPEND _archives $<TARGET_FILE:${_t}>)
  list(APPEND _deps ${_t})
endforeach()
string(REPLACE ";" "|" _archives_arg "${_archives}")
add_custom_target(hvcore_symcheck ALL
  COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} "-DARCHIVES=${_archives_arg}"
          -DPORT_DIR=${PROJECT_SOURCE_DIR}/include/libhvcore/port
          -P ${PROJECT_SOURCE_DIR}/cmake/symcheck.cmake
  DEPENDS ${_deps}
  COMMENT "Checking that lib/ needs nothing but the port contract"
  VERBATIM)
