# Every public header must compile on its own: one generated translation unit
# per header, compiled with the project's warnings as part of the default build.
file(GLOB_RECURSE _hdrs CONFIGURE_DEPENDS
  RELATIVE ${PROJECT_SOURCE_DIR}
  ${PROJECT_SOURCE_DIR}/include/*.h
  ${PROJECT_SOURCE_DIR}/ports/*/include/*.h)
set(_srcs)
foreach(_h IN LISTS _hdrs)
  string(REGEX REPLACE "^(include|ports/[^/]+/include)/" "" _inc "${_h}")
  string(MAKE_C_IDENTIFIER "${_h}" _id)
  set(_src ${CMAKE_BINARY_DIR}/header-check/${_id}.c)
  file(CONFIGURE OUTPUT ${_src} CONTENT "#include <${_inc}>\n#include <${_inc}> /* twice: guards */\nint hvcore_header_check_${_id}(void);\nint hvcore_header_check_${_id}(void) { return 0; }\n")
  list(APPEND _srcs ${_src})
endforeach()
add_library(hvcore_header_check OBJECT ${_srcs})
target_include_directories(hvcore_header_check PRIVATE ${PROJECT_SOURCE_DIR}/include)
file(GLOB _port_incs LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/ports/*/include)
target_include_directories(hvcore_header_check PRIVATE ${_port_incs})
target_compile_options(hvcore_header_check PRIVATE -pedantic-errors)
target_link_libraries(hvcore_header_check PRIVATE hvcore_flags)
