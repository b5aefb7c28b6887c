# Installs the module archives, the public headers, a CMake package
# (find_package(libhvcore CONFIG) -> hvcore::hvcore, hvcore::<module>,
# hvcore::port_host) and pkg-config files.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/libhvcore
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

set(_cfgdir ${CMAKE_INSTALL_LIBDIR}/cmake/libhvcore)
install(EXPORT hvcoreTargets NAMESPACE hvcore:: DESTINATION ${_cfgdir} FILE libhvcore-targets.cmake)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/libhvcore-config.cmake.in
  ${CMAKE_BINARY_DIR}/libhvcore-config.cmake INSTALL_DESTINATION ${_cfgdir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/libhvcore-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/libhvcore-config.cmake ${CMAKE_BINARY_DIR}/libhvcore-config-version.cmake
        DESTINATION ${_cfgdir})

# pkg-config: modules in link order (dependents first). The files are
# relocatable: the prefix is derived from ${pcfiledir}.
file(RELATIVE_PATH HVCORE_PC_UP /x/${CMAKE_INSTALL_LIBDIR}/pkgconfig /x)
set(HVCORE_PC_LIBS "")
foreach(_m IN LISTS HVCORE_MODULE_LINK_ORDER)
  string(APPEND HVCORE_PC_LIBS " -lhvcore_${_m}")
endforeach()
# An HVCORE_DIAG build declares the hook for its users too.
set(HVCORE_PC_CFLAGS "")
if(HVCORE_DIAG)
  set(HVCORE_PC_CFLAGS " -DHVCORE_DIAG=1")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/libhvcore.pc.in ${CMAKE_BINARY_DIR}/libhvcore.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/libhvcore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(NOT HVCORE_FREESTANDING)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/libhvcore-port-host.pc.in ${CMAKE_BINARY_DIR}/libhvcore-port-host.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/libhvcore-port-host.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

# The guides and the examples go with the library, so a newcomer who has only
# the installed tree can start from docs/getting-started.md and build the
# examples' sources against it. The HTML API reference goes too when it was
# built (`make docs`).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        PATTERN "CMakeLists.txt" EXCLUDE)
install(DIRECTORY ${CMAKE_BINARY_DIR}/docs/html/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/html OPTIONAL)
