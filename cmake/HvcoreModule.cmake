# hvcore_add_module(<name> [DEPENDS <module>...])
#
# Called from lib/<name>/CMakeLists.txt. Every .c file in the folder becomes
# part of the static library hvcore_<name> (alias hvcore::<name>), which is
# installed and exported. Adding a source file needs no edit here; a new
# module is a folder with a two-line CMakeLists.txt.
function(hvcore_add_module name)
  cmake_parse_arguments(M "" "" "DEPENDS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  if(NOT _srcs)
    message(FATAL_ERROR "module ${name} has no sources")
  endif()
  set(_t hvcore_${name})
  add_library(${_t} STATIC ${_srcs})
  add_library(hvcore::${name} ALIAS ${_t})
  set_target_properties(${_t} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME hvcore_${name})
  target_include_directories(${_t} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  foreach(_d IN LISTS M_DEPENDS)
    target_link_libraries(${_t} PUBLIC hvcore_${_d})
  endforeach()
  target_link_libraries(${_t} PRIVATE $<BUILD_INTERFACE:hvcore_flags>)
  if(HVCORE_DIAG)
    # The module name HV_REFUSE() reports (libhvcore/base/diag.h).
    target_compile_definitions(${_t} PRIVATE HV_DIAG_MODULE="${name}")
  endif()
  set_property(GLOBAL APPEND PROPERTY HVCORE_MODULES ${name})
  set_property(GLOBAL PROPERTY HVCORE_DEPS_${name} ${M_DEPENDS})
  install(TARGETS ${_t} EXPORT hvcoreTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

# Orders modules so that each comes before the modules it depends on (the
# order a static link line needs) and stores it in HVCORE_MODULE_LINK_ORDER.
function(_hvcore_visit name)
  get_property(_done GLOBAL PROPERTY HVCORE_VISITED_${name})
  if(_done)
    return()
  endif()
  set_property(GLOBAL PROPERTY HVCORE_VISITED_${name} TRUE)
  get_property(_deps GLOBAL PROPERTY HVCORE_DEPS_${name})
  foreach(_d IN LISTS _deps)
    _hvcore_visit(${_d})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY HVCORE_POSTORDER ${name})
endfunction()

# After every module is added: build the umbrella target hvcore::hvcore and
# the link order used by the pkg-config file and the symbol check.
function(hvcore_finish_modules)
  get_property(_mods GLOBAL PROPERTY HVCORE_MODULES)
  foreach(_m IN LISTS _mods)
    _hvcore_visit(${_m})
  endforeach()
  get_property(_post GLOBAL PROPERTY HVCORE_POSTORDER)
  list(REVERSE _post)
  set(HVCORE_MODULE_LINK_ORDER ${_post} PARENT_SCOPE)
  add_library(hvcore INTERFACE)
  add_library(hvcore::hvcore ALIAS hvcore)
  foreach(_m IN LISTS _post)
    target_link_libraries(hvcore INTERFACE hvcore_${_m})
  endforeach()
  install(TARGETS hvcore EXPORT hvcoreTargets)
endfunction()
